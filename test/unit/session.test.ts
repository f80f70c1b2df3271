import { readlink, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileSession } from '../../hisp/host/session.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { DATABASE_FILE, initProfile, VAULT_FILE } from '../../hisp/store/profile.js';
import { hispErrorCode as codeOf } from '../services/hispErrors.js';

const PASS = Buffer.from('session test passphrase');
let root: string;
let dir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-session-'));
  dir = join(root, 'clinic');
  (
    await initProfile(dir, {
      keySource: vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase: PASS }),
    })
  ).close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function session(options: { idleLockMs?: number; now?: () => number } = {}) {
  let changes = 0;
  const value = new ProfileSession({
    dir,
    logger: createSilentLogger(),
    keySource: (_kind, passphrase) =>
      vaultMasterKeySource({
        file: join(dir, VAULT_FILE),
        passphrase: passphrase ?? Buffer.alloc(0),
      }),
    onChange: () => changes++,
    ...options,
  });
  return { session: value, changes: () => changes };
}

/** Files this process has open under the profile directory (Linux /proc). */
async function openProfileFiles(): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) open.push(target);
  }
  return open;
}

describe('risk-18 profile session: lock, unlock, idle auto-lock', () => {
  it('unlock opens the database; lock closes it, and everything on it says PROFILE_LOCKED', async () => {
    const { session: s, changes } = session();
    expect(s.locked).toBe(true);
    await s.unlock(Buffer.from(PASS));
    expect(s.locked).toBe(false);
    expect(await openProfileFiles()).toContain(join(dir, DATABASE_FILE));
    expect(s.components().map((component) => component.name)).toEqual(['profile', 'trust']);
    expect(s.outboundAnchors('clinic.example')).toEqual([]);
    const subkey = s.profile.subkey('audit');
    expect(subkey.equals(Buffer.alloc(32))).toBe(false);

    await s.lock();
    expect(s.locked).toBe(true);
    expect(await openProfileFiles()).toEqual([]);
    expect(subkey.equals(Buffer.alloc(32))).toBe(true); // the derived key was zeroed
    expect(s.components()).toEqual([{ name: 'profile', state: 'off', detail: 'locked' }]);
    expect(await codeOf(() => s.outboundAnchors('clinic.example'))).toBe('PROFILE_LOCKED');
    expect(await codeOf(() => s.profile)).toBe('PROFILE_LOCKED');
    expect(changes()).toBe(2);
  });

  it('a vault profile needs its passphrase to unlock; a wrong one is refused and it stays locked', async () => {
    const { session: s } = session();
    expect(await codeOf(() => s.unlock())).toBe('VAULT_BAD_PASSPHRASE');
    expect(await codeOf(() => s.unlock(Buffer.from('wrong passphrase')))).toBe(
      'VAULT_BAD_PASSPHRASE',
    );
    expect(s.locked).toBe(true);
    await s.unlock(Buffer.from(PASS));
    await s.unlock(Buffer.from('ignored: already unlocked'));
    expect(s.locked).toBe(false);
    await s.lock();
    await s.lock(); // idempotent
  });

  it('locks by itself after the idle time; a call (touch) postpones it', async () => {
    let now = 0;
    const { session: s } = session({ idleLockMs: 200, now: () => now });
    await s.unlock(Buffer.from(PASS));
    now = 150;
    s.touch();
    now = 300; // 150 ms since the touch: not idle long enough
    await new Promise((resolve) => setTimeout(resolve, 120)); // several timer ticks
    expect(s.locked).toBe(false);
    now = 351;
    for (let i = 0; i < 100 && !s.locked; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.locked).toBe(true);
  });
});
