/** Temporary directories under os.tmpdir(), removed by the service's stop(). */
import { mkdtemp, rm, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  readonly path: string;
  /** Remove the directory and everything in it. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Create a fresh directory `<tmpdir>/sealpost-test-<prefix>-XXXXXX`. Mode is 0700 unless `mode`
 * is given (daemons that drop privileges, like Dovecot, need 0755 to traverse it).
 */
export async function makeTempDir(prefix: string, mode?: number): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), `sealpost-test-${prefix}-`));
  if (mode !== undefined) await chmod(path, mode);
  let removed: Promise<void> | undefined;
  return {
    path,
    remove: () => (removed ??= rm(path, { recursive: true, force: true, maxRetries: 3 })),
  };
}
