import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { TrustStore } from '../../hisp/certs/trust/store.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { AuditLog } from '../../hisp/store/audit.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { exportProfile, readExport, restoreProfile } from '../../hisp/store/export.js';
import { MIGRATIONS } from '../../hisp/store/migrations.js';
import { initProfile, Profile, VAULT_FILE, type ProfileInfo } from '../../hisp/store/profile.js';
import { MailStore } from '../../hisp/store/mail.js';
import { TestPki } from './certs-fixtures.js';
import { riDirect, riOpener, ryan } from './interop-identities.js';

const MARKER = 'MARKER-EXPORT-4f1d9a';

// A Direct message from the reference implementation's test identities, opened with ryan's key.
const ryanOpens = riOpener([ryan]);
const inner = Buffer.from(
  'From: gm2552@securehealthemail.com\r\nTo: ryan@securehealthemail.com\r\n' +
    `Subject: ${MARKER} lab results\r\nMessage-ID: <export-test@securehealthemail.com>\r\n` +
    'Date: Sun, 01 Nov 2026 00:00:00 +0000\r\nContent-Type: text/plain\r\n\r\nThe body survives the move.\r\n',
);

const PASS = Buffer.from('the source profile passphrase');
const EXPORT_PASS = Buffer.from('an export passphrase, long enough');
let root: string;
let pki: TestPki;
let source: Profile;
let exported: string;

const vault = (dir: string, passphrase = PASS) =>
  vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase });

/** Every table's rows, for comparing two profiles. */
function dump(profile: Profile): Record<string, unknown[]> {
  return profile.db.read((db) => {
    const names = (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .all() as {
        name: string;
      }[]
    ).map((row) => row.name);
    return Object.fromEntries(
      names.map((name) => [name, db.prepare(`SELECT * FROM "${name}"`).all()]),
    );
  });
}

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    const value = await work;
    if (value instanceof Profile) value.close();
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-export-'));
  pki = await TestPki.create('export');
  const dir = join(root, 'source');
  source = await initProfile(dir, { keySource: vault(dir) });
  const anchor = await pki.root('export-root', { subject: `/O=Export Tests/CN=${MARKER}` });
  new TrustStore(source.db).addAnchors([anchor.cert], {
    domain: 'clinic.example',
    direction: 'both',
  });
  source.db.transaction((db) =>
    db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?)')
      .run('note', JSON.stringify(MARKER)),
  );
  const raw = riDirect(inner);
  await new MailStore(source).receive(
    { raw, envelope: { from: 'gm2552@securehealthemail.com', to: ['ryan@securehealthemail.com'] } },
    ryanOpens,
  );
  const audit = new AuditLog(source);
  audit.append({ action: 'trust-change', detail: { added: 1 } });
  audit.append({ action: 'key-import', counterpart: 'dr@clinic.example' });
  exported = join(root, 'clinic.sealpost-export');
  const key = await vault(dir).load(source.id);
  try {
    await exportProfile(source, key, exported, { passphrase: EXPORT_PASS });
  } finally {
    key.fill(0);
  }
});

afterAll(async () => {
  source.close();
  await pki.remove();
  await rm(root, { recursive: true, force: true });
});

describe('profile export and restore', () => {
  it('the export is private and holds nothing readable', async () => {
    expect((await stat(exported)).mode & 0o777).toBe(0o600);
    const bytes = await readFile(exported);
    expect(bytes.subarray(0, 25).toString('latin1')).toBe('SEALPOST-PROFILE-EXPORT 1');
    expect(bytes.includes(MARKER)).toBe(false);
    expect(bytes.includes(Buffer.from(MARKER).toString('base64').slice(0, 12))).toBe(false);
  });

  it('restores into another directory: the same profile, every row, the audit chain intact', async () => {
    const dir = join(root, 'restored');
    const newPass = Buffer.from('a new passphrase on the new machine');
    const restored = await restoreProfile(dir, await readFile(exported), {
      passphrase: EXPORT_PASS,
      keySource: vault(dir, newPass),
    });
    try {
      expect(restored.id).toBe(source.id);
      expect(restored.info.createdAt).toBe(source.info.createdAt);
      expect(dump(restored)).toEqual(dump(source));
      expect(new AuditLog(restored).verify().entries).toBe(3); // receive, trust-change, key-import
      expect(new TrustStore(restored.db).anchorsFor('clinic.example', 'inbound')).toHaveLength(1);
      // The message is there, listed from the index and readable with the identity's key.
      const mail = new MailStore(restored);
      const [listed] = mail.list('inbox');
      expect(listed?.subject).toBe(`${MARKER} lab results`);
      expect(mail.search(MARKER).map((row) => row.id)).toEqual([listed?.id]);
      const opened = await mail.open(listed?.id ?? -1, ryanOpens);
      expect(opened.text).toContain('The body survives the move.');
    } finally {
      restored.close();
    }
    // It opens again with its new vault passphrase, not the old one.
    expect(
      await codeOf(
        restoreProfile(dir, await readFile(exported), {
          passphrase: EXPORT_PASS,
          keySource: vault(dir, newPass),
        }),
      ),
    ).toBe('PROFILE_EXISTS');
  });

  it('a wrong passphrase, a changed byte and a truncated file are refused, and leave nothing behind', async () => {
    const bytes = await readFile(exported);
    const dir = join(root, 'refused');
    const attempt = (data: Buffer, passphrase = EXPORT_PASS) =>
      codeOf(restoreProfile(dir, data, { passphrase, keySource: vault(dir) }));
    expect(await attempt(bytes, Buffer.from('not the export passphrase'))).toBe(
      'EXPORT_BAD_PASSPHRASE',
    );
    const changed = Buffer.from(bytes);
    changed[changed.length - 100] = (changed[changed.length - 100] ?? 0) ^ 1;
    expect(await attempt(changed)).toBe('EXPORT_MALFORMED');
    expect(await attempt(bytes.subarray(0, bytes.length - 20))).toBe('EXPORT_MALFORMED');
    expect(await attempt(Buffer.from('not an export at all'))).toBe('EXPORT_MALFORMED');
    const header = Buffer.from(bytes);
    const at = header.indexOf('"profileId"');
    header[at + 14] = header[at + 14] === 0x61 ? 0x62 : 0x61; // the header is authenticated too
    expect(await attempt(header)).toBe('EXPORT_MALFORMED');
    const left = await readdir(dir).catch(() => []);
    expect(left).toEqual([]);
  });

  it('an export from an older schema is restored and migrated up', async () => {
    const dir = join(root, 'old');
    const key = randomBytes(32);
    const info: ProfileInfo = {
      format: 'sealpost-profile',
      version: 1,
      id: 'a'.repeat(32),
      createdAt: '2026-01-01T00:00:00.000Z',
      keySource: 'vault',
      keyCheck: '0'.repeat(64),
    };
    const old = new Profile(
      dir,
      info,
      EncryptedDatabase.open({
        file: join(root, 'old.db'),
        key,
        migrations: MIGRATIONS.slice(0, 1),
      }),
      new Map([
        ['audit', randomBytes(32)],
        ['key-wrap', randomBytes(32)],
      ]),
    );
    old.db.transaction((db) =>
      db.prepare('INSERT INTO settings (key, value) VALUES (?, ?)').run('old', '1'),
    );
    const file = join(root, 'old.export');
    await exportProfile(old, key, file, { passphrase: EXPORT_PASS });
    old.close();
    expect((await readExport(await readFile(file), EXPORT_PASS)).schemaVersion).toBe(1);
    const restored = await restoreProfile(dir, await readFile(file), {
      passphrase: EXPORT_PASS,
      keySource: vault(dir),
    });
    try {
      expect(restored.db.version).toBe(MIGRATIONS.length);
      expect(
        restored.db.read((db) => db.prepare('SELECT value FROM settings WHERE key = ?').get('old')),
      ).toEqual({
        value: '1',
      });
    } finally {
      restored.close();
    }
  });
});
