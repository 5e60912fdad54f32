/**
 * Output and exit codes shared by the commands.
 * @module
 */
import { redactUrl } from 'x402-stacks';

/** Where a command writes: each call is one or more whole lines. */
export type Io = {
  out(text: string): void;
  err(text: string): void;
};

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** The exit code for a usage error: an unknown command, an unknown flag, a bad flag value. */
export const EXIT_USAGE = 2;

/** A flag or argument the user got wrong; its message is shown as is, followed by a pointer to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Control characters a hostile server could use to rewrite the terminal (ANSI escapes, carriage returns). */
const CONTROL = /\p{Cc}/gu;
const URL_IN_TEXT = /\bhttps?:\/\/[^\s'"<>]+/g;

/**
 * The same output, made safe to show what a server or a URL said: every URL loses its credentials and key
 * parameters, and control characters become `�`, on both streams. A command's raw payload should bypass it (curl
 * prints bodies as they are); its progress and errors go through it.
 * @example
 * ```ts
 * const safe = redactingIo(io);
 * safe.err(`GET ${userUrl}`); // 'GET http://***:***@host/…' with the password gone
 * ```
 */
export function redactingIo(io: Io): Io {
  const clean = (text: string) =>
    text
      .replace(URL_IN_TEXT, (url) => redactUrl(url))
      .replace(CONTROL, (control) => (control === '\n' || control === '\t' ? control : '\ufffd'));
  return { out: (text) => io.out(clean(text)), err: (text) => io.err(clean(text)) };
}
