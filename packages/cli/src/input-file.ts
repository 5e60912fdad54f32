/**
 * Reading the files a command is pointed at (a key file, a `--data @file` body): only regular files, only up to a
 * size cap, and, for a key, only when no other user can read it. `/dev/zero`, a FIFO or a directory is refused at
 * once instead of read forever or waited on. Errors name the path and the problem, never the content.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { UsageError } from './io.js';

/** The most a key file may hold: a key is 66 hex characters, so anything near this is not a key file. */
export const MAX_KEY_FILE_BYTES = 4 * 1024;

/** The most a `--data @file` request body may hold: 10 MiB. */
export const MAX_DATA_FILE_BYTES = 10 * 1024 * 1024;

/** How an input file is read. */
export type InputFileRules = {
  /** How the file is named in errors: `--key-file`, `--data`. */
  readonly flag: string;
  readonly maxBytes: number;
  /** Refuse a file that the group or others may read or write (mode & 0o077), as ssh does for its keys. */
  readonly ownerOnly?: boolean;
};

/**
 * Reads a regular file of at most `rules.maxBytes` bytes as UTF-8.
 * @throws {UsageError} with reason `input_file_unreadable`, `input_file_not_regular`, `input_file_too_large` or
 * `key_file_insecure`; the message names the flag, the path and the problem.
 * @example
 * ```ts
 * const key = readInputFile('./buyer.key', { flag: '--key-file', maxBytes: MAX_KEY_FILE_BYTES, ownerOnly: true });
 * ```
 */
export function readInputFile(path: string, rules: InputFileRules): string {
  const refuse = (problem: string, reason: string): never => {
    throw new UsageError(`${rules.flag} ${path}: ${problem}`, reason);
  };
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, possibly forever.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return refuse(
      `cannot open it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'input_file_unreadable',
    );
  }
  try {
    // The checks read the opened file itself, so a path swapped after them cannot slip another file in.
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      refuse(`is ${kindOf(stats)}, not a regular file`, 'input_file_not_regular');
    }
    if (rules.ownerOnly && process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
      refuse(
        `is readable or writable by other users (mode ${(stats.mode & 0o777).toString(8)}); ` +
          'chmod 600 it, or pass --allow-insecure-key-file to use it anyway',
        'key_file_insecure',
      );
    }
    if (stats.size > rules.maxBytes) {
      refuse(
        `is ${stats.size} bytes, above the limit of ${rules.maxBytes}`,
        'input_file_too_large',
      );
    }
    return readUpTo(fd, rules.maxBytes, () =>
      refuse(`grew past the limit of ${rules.maxBytes} bytes while read`, 'input_file_too_large'),
    );
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return refuse(
      `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      'input_file_unreadable',
    );
  } finally {
    closeSync(fd);
  }
}

/** Reads to the end, but never more than `limit` bytes: a file that grows while read is refused, not followed. */
function readUpTo(fd: number, limit: number, tooLarge: () => never): string {
  const buffer = Buffer.alloc(limit + 1);
  let length = 0;
  for (;;) {
    const read = readSync(fd, buffer, length, buffer.length - length, null);
    if (read === 0) break;
    length += read;
    if (length > limit) tooLarge();
  }
  return buffer.toString('utf8', 0, length);
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a file';
}
