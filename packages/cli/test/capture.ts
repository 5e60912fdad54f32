/** A command's output captured in memory: what a test reads instead of the terminal. */
import type { Io } from '../src/io.js';

/** Collects each line a command writes; `stdout()` and `stderr()` join them. */
export function capture(): { io: Io; stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) },
    stdout: () => out.join('\n'),
    stderr: () => err.join('\n'),
  };
}
