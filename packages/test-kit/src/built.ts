/**
 * Whether a built file is older than what it is built from: a bench must not measure, nor a test ship, a build other
 * than the working tree's.
 * @module
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Why `built` cannot stand for `sources` (files or folders, every file under a folder counted): `missing`, or the
 * first source with a file newer than it; undefined when the build is current. Paths are relative to `root`.
 * @example
 * ```ts
 * const stale = staleBuild(root, 'apps/facilitator/dist/main.js', ['apps/facilitator/src']);
 * if (stale) throw new Error(`the build is ${stale === 'missing' ? 'missing' : `older than ${stale}`}`);
 * ```
 */
export function staleBuild(
  root: string,
  built: string,
  sources: readonly string[],
): 'missing' | string | undefined {
  const path = join(root, built);
  if (!existsSync(path)) return 'missing';
  const builtAt = statSync(path).mtimeMs;
  return sources.find((source) => newestUnder(join(root, source)) > builtAt);
}

/** The newest modification time of `path`, or of any file under it when it is a folder, in ms. */
function newestUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile())
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}
