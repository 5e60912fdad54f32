/**
 * Node's own modules reached at run time, without a static `node:` import, so the package still loads (and bundles)
 * in a browser, where the callers fall back to portable code.
 * @module
 */

type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

/**
 * A node builtin, or undefined outside node (and in node before 20.16, which has no `getBuiltinModule`).
 * @example
 * ```ts
 * const http = builtin<typeof import('node:http')>('node:http'); // undefined in a browser
 * ```
 */
export function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}
