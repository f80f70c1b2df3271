/** Reading the command line's inputs: files, stdin and secrets, each bounded and typed. */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
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
