/**
 * The command line's files: inputs (files, stdin and secrets, each bounded and typed) and
 * output files, written whole or not at all.
 */
import { closeSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { makeDirectories, writeChunksSync, writeWholeFileSync } from '../store/profile.js';
import type { Readable } from 'node:stream';
import { HispError } from '../api/errors.js';
import { UsageError } from './io.js';

/** Everything from a stream, refusing more than `limit` bytes while reading. */
export async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.byteLength;
    if (size > limit)
      throw new HispError('LIMIT_EXCEEDED', `The input is larger than ${limit} bytes.`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}

/** A file the user named; a missing or unreadable one is a usage-level problem, said plainly. */
export async function readInputFile(
  command: string,
  flag: string,
  path: string,
  limit: number,
): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(command, `${flag} ${path}: not a file`);
    if (info.size > limit)
      throw new HispError('LIMIT_EXCEEDED', `${flag} ${path} is larger than ${limit} bytes.`);
    // One synchronous read: for a local file of tens of MB it is faster than the chunked
    // asynchronous read, and the command has nothing else to do meanwhile.
    return readFileSync(path);
  } catch (error) {
    if (error instanceof UsageError || error instanceof HispError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      command,
      `${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot be read'}`,
    );
  }
}

/**
 * A secret named on the command line: `env:NAME` or `file:PATH` (one trailing newline
 * dropped). Never a bare value, which would sit in shell history and process listings.
 */
export async function readSecret(
  command: string,
  spec: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (spec === undefined) return '';
  if (spec.startsWith('env:')) {
    const name = spec.slice(4);
    const value = env[name];
    if (name === '' || value === undefined)
      throw new UsageError(command, `--pass ${spec}: the environment variable is not set`);
    return value;
  }
  if (spec.startsWith('file:')) {
    const content = await readInputFile(command, '--pass', spec.slice(5), 64 * 1024);
    return content.toString('utf8').replace(/\r?\n$/, '');
  }
  throw new UsageError(
    command,
    '--pass takes env:NAME or file:PATH; a secret is never taken as a bare command-line value',
  );
}

/**
 * Writes a command's output file (`--out`, `--report`) whole or not at all: into a new
 * owner-only file beside `path`, renamed over it once everything is written. A failure part
 * way (a full disk, an input refused while the output was being produced) leaves an earlier
 * file at `path` as it was and no partial file behind. A `path` that is there and is not a
 * regular file (a device such as /dev/stdout, a FIFO, a symbolic link) is written to as it
 * is, where the user pointed.
 * @throws UsageError naming the flag, the path and what is wrong, for a file that cannot be
 *   created or written; anything `chunks` throws, after the partial file is removed.
 */
export function writeOutputFile(
  command: string,
  flag: string,
  path: string,
  chunks: Iterable<Uint8Array>,
): void {
  let inPlace = false;
  try {
    inPlace = !lstatSync(path).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw outputFileError(command, flag, path, error);
  }
  try {
    if (inPlace) {
      const fd = openSync(path, 'w', 0o600);
      try {
        writeChunksSync(fd, chunks);
      } finally {
        closeSync(fd);
      }
    } else {
      writeWholeFileSync(path, chunks);
    }
  } catch (error) {
    // Failed once the new file was open (a write, its close, the rename): an earlier file at
    // `path` is still there as it was.
    const afterOpen = (error as NodeJS.ErrnoException).syscall !== 'open';
    throw outputFileError(command, flag, path, error, !inPlace && afterOpen);
  }
}

/**
 * The directory a command was told to use (`--profile` for init, `--data-dir`), created with
 * any missing parents (owner-only).
 * @throws UsageError naming the flag, the path and what is wrong
 */
export async function makeDirectoryFor(command: string, flag: string, path: string): Promise<void> {
  try {
    await makeDirectories(path, 0o700);
  } catch (error) {
    throw outputFileError(command, flag, path, error);
  }
}

/**
 * A file system error (an errno code such as ENOSPC) while writing the output file `path` as
 * the UsageError that says it plainly (`kept`: add that an earlier file there is unchanged);
 * any other error as it is — a HispError too, whose codes are not errno codes.
 */
export function outputFileError(
  command: string,
  flag: string,
  path: string,
  error: unknown,
  kept = false,
): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof HispError || typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code))
    return error;
  const why = WRITE_ERRORS[code] ?? `cannot be written (${code})`;
  return new UsageError(
    command,
    `${flag} ${path}: ${why}${kept ? '; the file there before, if any, is unchanged' : ''}`,
  );
}

/** What an output file's errno means, said plainly. */
const WRITE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  EROFS: 'on a read-only file system',
  ENOSPC: 'the disk is full',
  EDQUOT: 'over the disk quota',
  EFBIG: 'too large for this file system',
};
