/**
 * Output made safe for what a server or a URL said. Kept apart from io.ts so that the command line's entry point
 * (help, version, dispatch) loads none of the library.
 * @module
 */
import { redactUrl } from 'x402-stacks/chain';
import type { Io } from './io.js';

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
  return { out: (text) => io.out(redactText(text)), err: (text) => io.err(redactText(text)) };
}

/**
 * Text from a server or a URL made safe to show: URLs lose their credentials and key parameters, and control
 * characters other than newlines and tabs become `�`.
 * @example
 * ```ts
 * redactText('GET http://alice:s3cr3t@host/'); // 'GET http://***:***@host/'
 * ```
 */
export function redactText(text: string): string {
  return text
    .replace(URL_IN_TEXT, (url) => redactUrl(url))
    .replace(CONTROL, (control) => (control === '\n' || control === '\t' ? control : '\ufffd'));
}
