/**
 * Output files of the command line (`--out`, `--report`): written whole or not at all, owner-
 * only, and every failure a usage error that names the flag, the path and the reason, on a
 * real file system (a full disk is /dev/full).
 */
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { writeOutputFile } from '../../hisp/cli/files.js';
import { UsageError } from '../../hisp/cli/io.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await makeTempDir('cli-output-file');
});
afterEach(async () => {
  await dir.remove();
});

const write = (path: string, chunks: Iterable<Uint8Array>) =>
  writeOutputFile('smime encrypt', '--out', path, chunks);

/** Yields `parts`, then throws `error`: an output that fails while it is being produced. */
function* failingAfter(parts: readonly string[], error: Error): Generator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
  throw error;
}

function usageMessage(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error('expected a UsageError');
}

describe('writeOutputFile', () => {
  it('a new file: the chunks in order, owner-only, nothing else left in the directory', async () => {
    const path = join(dir.path, 'out.eml');
    write(path, [Buffer.from('one '), Buffer.from('two')]);
    expect(await readFile(path, 'utf8')).toBe('one two');
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir.path)).toEqual(['out.eml']);
  });

  it('replaces an earlier file whole, and leaves it untouched when the output fails part way', async () => {
    const path = join(dir.path, 'report.json');
    await writeFile(path, 'the earlier output', { mode: 0o644 });
    const refused = new Error('input refused while writing');
    expect(() => write(path, failingAfter(['half of the ', 'new output'], refused))).toThrow(
      refused,
    );
    expect(await readFile(path, 'utf8')).toBe('the earlier output');
    expect(await readdir(dir.path)).toEqual(['report.json']); // no partial file left

    write(path, [Buffer.from('the new output')]);
    expect(await readFile(path, 'utf8')).toBe('the new output');
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir.path)).toEqual(['report.json']);
  });

  it('a typed error from the output passes through as it is, not as a file problem', async () => {
    const path = join(dir.path, 'out.eml');
    const refused = new HispError('LIMIT_EXCEEDED', 'The encrypted message would be too large.');
    expect(() => write(path, failingAfter(['part'], refused))).toThrow(refused);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('a symbolic link is written through, and stays a link', async () => {
    const real = join(dir.path, 'real.eml');
    const link = join(dir.path, 'link.eml');
    await writeFile(real, 'old');
    await symlink(real, link);
    write(link, [Buffer.from('through the link')]);
    expect(await readlink(link)).toBe(real);
    expect(await readFile(real, 'utf8')).toBe('through the link');
  });

  it('devices are written in place: /dev/null takes it; /dev/full is a full disk', () => {
    write('/dev/null', [Buffer.from('discarded')]);
    expect(usageMessage(() => write('/dev/full', [Buffer.from('x')]))).toBe(
      '--out /dev/full: the disk is full',
    );
  });

  it('a missing directory, a directory, a file used as a directory: the reason, nothing written', async () => {
    const missing = join(dir.path, 'no-such-dir', 'out.eml');
    expect(usageMessage(() => write(missing, [Buffer.from('x')]))).toBe(
      `--out ${missing}: no such directory`,
    );
    const folder = join(dir.path, 'folder');
    await mkdir(folder);
    expect(usageMessage(() => write(folder, [Buffer.from('x')]))).toBe(
      `--out ${folder}: is a directory`,
    );
    const file = join(dir.path, 'plain');
    await writeFile(file, 'kept');
    const under = join(file, 'out.eml');
    expect(usageMessage(() => write(under, [Buffer.from('x')]))).toBe(
      `--out ${under}: a part of the path is not a directory`,
    );
    expect(await readFile(file, 'utf8')).toBe('kept');
    expect((await readdir(dir.path)).sort()).toEqual(['folder', 'plain']);
  });
});
