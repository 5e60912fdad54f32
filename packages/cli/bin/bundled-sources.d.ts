/** Everything the CLI's bundle is compiled from, relative to the repository root (see bundled-sources.js). */
export declare const BUNDLED_SOURCES: readonly string[];
