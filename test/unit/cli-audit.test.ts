import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../hisp/cli/io.js';
import { PROFILE_AUDIT_HELP, profileAuditCommand } from '../../hisp/cli/profileAudit.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { AuditLog, type AuditEntry } from '../../hisp/store/audit.js';
import { initProfile, openProfile, VAULT_FILE } from '../../hisp/store/profile.js';
import { captureCli } from '../services/cliIo.js';

const PASS = 'a long test passphrase';
let root: string;
let intact: string;
let tampered: string;

const io = () => captureCli({ env: { PROFILE_PASS: PASS }, root: '/nonexistent' });

async function run(dir: string, ...args: string[]) {
  const captured = io();
  const code = await profileAuditCommand(
    ['--profile', dir, '--pass', 'env:PROFILE_PASS', ...args],
    captured.io,
  );
  return { code, out: captured.out(), err: captured.err() };
}

async function makeProfile(name: string): Promise<string> {
  const dir = join(root, name);
  const profile = await initProfile(dir, {
    keySource: vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from(PASS),
    }),
  });
  const log = new AuditLog(profile, { user: 'clinician' });
  log.append({ action: 'unlock' });
  log.append({ action: 'send', counterpart: 'dr.a@direct.example', messageId: '<1@x>' });
  log.append({ action: 'open', counterpart: '=cmd@direct.example', messageId: '<2@x>' });
  profile.close();
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-cli-audit-'));
  intact = await makeProfile('intact');
  tampered = await makeProfile('tampered');
  const profile = await openProfile(tampered, {
    keySourceFor: () =>
      vaultMasterKeySource({ file: join(tampered, VAULT_FILE), passphrase: Buffer.from(PASS) }),
  });
  profile.db.transaction((db) => {
    db.exec('DROP TRIGGER audit_log_no_update');
    db.exec("UPDATE audit_log SET counterpart = 'someone@else.example' WHERE seq = 2");
  });
  profile.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sealpost profile audit', () => {
  it('--verify on an intact chain: exit 0, "audit chain intact: N entries", nothing exported or logged', async () => {
    const first = await run(intact, '--verify');
    expect(first).toEqual({ code: 0, out: 'audit chain intact: 3 entries\n', err: '' });
    expect((await run(intact, '--verify')).out).toBe('audit chain intact: 3 entries\n');
  });

  it('risk-22 --verify on a chain edited by hand: exit 2 with AUDIT_CHAIN_BROKEN naming the entry, and no export', async () => {
    const result = await run(tampered, '--verify', '--format', 'json');
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toContain('broken at entry 2 (changed)');
    expect(result.err).toContain('[AUDIT_CHAIN_BROKEN]');
  });

  it('--format json to stdout: the entries, then the export itself is logged as audit-export', async () => {
    const result = await run(intact, '--format', 'json');
    expect(result.code).toBe(0);
    const entries = JSON.parse(result.out) as AuditEntry[];
    expect(entries.map((e) => e.action)).toEqual(['unlock', 'send', 'open']);
    const after = await run(intact, '--verify', '--format', 'json', '--action', 'audit-export');
    expect(after.err).toBe('audit chain intact: 4 entries\n');
    const logged = JSON.parse(after.out) as AuditEntry[];
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      seq: 4,
      action: 'audit-export',
      detail: { format: 'json', entries: 3, to: 'stdout' },
    });
  });

  it('--format csv --out FILE: written with mode 600, filtered, formula-safe; logged', async () => {
    const file = join(root, 'audit.csv');
    const result = await run(
      intact,
      '--counterpart',
      '=CMD@direct.example',
      '--since',
      '2000-01-01',
      '--out',
      file,
    );
    expect(result.code).toBe(0);
    expect(result.out).toBe('');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const lines = (await readFile(file, 'utf8')).split('\r\n');
    expect(lines[0]).toBe('seq,at,user,action,counterpart,message_id,detail,prev,mac');
    expect(lines[1]).toMatch(/^3,[^,]+,clinician,open,'=cmd@direct\.example,<2@x>,,[0-9a-f]{64},/);
    expect(lines).toHaveLength(3);
    const last = JSON.parse((await run(intact, '--format', 'json')).out) as AuditEntry[];
    expect(last.at(-1)).toMatchObject({
      action: 'audit-export',
      detail: {
        format: 'csv',
        entries: 1,
        to: 'file',
        since: '2000-01-01T00:00:00.000Z',
        counterpart: '=CMD@direct.example',
      },
    });
  });

  it('usage errors are UsageError (exit 1): bad format, action, time, unknown flag, no profile', async () => {
    const usage = async (...args: string[]) => {
      try {
        await profileAuditCommand(args, io().io);
      } catch (error) {
        return error instanceof UsageError ? error.message : `not a usage error: ${String(error)}`;
      }
      return 'no error';
    };
    const profile = ['--profile', intact, '--pass', 'env:PROFILE_PASS'];
    expect(await usage(...profile, '--format', 'xml')).toMatch(/--format is csv or json/);
    expect(await usage(...profile, '--action', 'peek')).toMatch(/--action "peek" is not one of/);
    expect(await usage(...profile, '--since', 'yesterday')).toMatch(/--since wants an ISO 8601/);
    expect(await usage(...profile, '--until', '2026-13-45')).toMatch(/--until wants an ISO/);
    expect(await usage(...profile, '--bogus')).toMatch(/unknown option/);
    expect(await usage('--verify')).toMatch(/--profile DIR is required/);
    const help = io();
    expect(await profileAuditCommand(['--help'], help.io)).toBe(0);
    expect(help.out()).toBe(PROFILE_AUDIT_HELP);
  });
});
