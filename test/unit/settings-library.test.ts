/**
 * The library functions the settings calls and the command line share: importAnchors
 * (hisp/certs/trust/anchors.ts), importIdentity / identityOfKey (hisp/keys/importIdentity.ts),
 * exportAudit / auditChainState (hisp/store/audit.ts), and the `importAnchors` call's
 * certificate text (hisp/host/settings.ts). Certificates from the `openssl` CLI and from
 * hisp/certs/issue.ts; profiles are real vault profiles in a temp dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { AUDIT_ACTION_LIST } from '../../hisp/api/contract.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { generateKey, issueCertificate } from '../../hisp/certs/issue.js';
import { importAnchors } from '../../hisp/certs/trust/anchors.js';
import { TrustStore } from '../../hisp/certs/trust/store.js';
import { certificateBytes } from '../../hisp/host/settings.js';
import { identityOfKey, importIdentity } from '../../hisp/keys/importIdentity.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { AUDIT_ACTIONS, auditChainState, AuditLog, exportAudit } from '../../hisp/store/audit.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import { opensslUnsignedBundle } from '../services/openssl-direct.js';
import { DAY, TestPki, type Issued } from './certs-fixtures.js';
import { hispErrorCode as codeOf } from '../services/hispErrors.js';

let pki: TestPki;
let dir: string;
let rootA: Issued;
let rootB: Issued;
let expired: Issued;
let p7b: Buffer;
let profile: Profile;

beforeAll(async () => {
  pki = await TestPki.create('settings-library');
  dir = await mkdtemp(join(tmpdir(), 'sealpost-settings-lib-'));
  [rootA, rootB] = (await Promise.all(
    ['A', 'B'].map((name) => pki.root(`root-${name}`, { subject: `/O=Settings Lib/CN=${name}` })),
  )) as [Issued, Issued];
  expired = await pki.root('expired', {
    subject: '/O=Settings Lib/CN=Expired',
    notBefore: new Date(Date.now() - 30 * DAY),
    notAfter: new Date(Date.now() - DAY),
  });
  p7b = await readFile(await opensslUnsignedBundle(pki.dir, 'bundle', [rootA, rootB]));
  const profileDir = join(dir, 'profile');
  profile = await initProfile(profileDir, {
    keySource: vaultMasterKeySource({
      file: join(profileDir, VAULT_FILE),
      passphrase: Buffer.from('settings library tests'),
    }),
  });
}, 60_000);

afterAll(async () => {
  profile.close();
  await pki.remove();
  await rm(dir, { recursive: true, force: true });
});

describe('importAnchors', () => {
  let db: EncryptedDatabase;
  let store: TrustStore;
  let counter = 0;
  beforeEach(() => {
    db = EncryptedDatabase.open({ file: join(dir, `trust-${counter++}`), key: randomBytes(32) });
    store = new TrustStore(db);
    return () => db.close();
  });
  const fps = (certs: readonly ParsedCertificate[]) => certs.map((c) => c.fingerprintSha256);

  it('adds the usable certificates of a PEM file and refuses an expired one with its reason', async () => {
    const result = await importAnchors(store, Buffer.from(rootA.pem + expired.pem + rootB.pem), {
      domain: 'Clinic.Example.',
      direction: 'inbound',
    });
    expect(fps(result.added)).toEqual([rootA.cert.fingerprintSha256, rootB.cert.fingerprintSha256]);
    expect(result.already).toEqual([]);
    expect(result.refused.map((r) => r.cert.fingerprintSha256)).toEqual([
      expired.cert.fingerprintSha256,
    ]);
    expect(result.refused[0]?.reasons.map((r) => r.code)).toEqual(['CERT_EXPIRED']);
    expect(store.listAnchors().map((a) => [a.domain, a.direction, a.origin.kind])).toEqual([
      ['clinic.example', 'inbound', 'manual'],
      ['clinic.example', 'inbound', 'manual'],
    ]);
  });

  it('reads DER and a PKCS#7 .p7b; what is there already is reported as such', async () => {
    const der = await importAnchors(store, rootA.der);
    expect(fps(der.added)).toEqual([rootA.cert.fingerprintSha256]);
    expect(store.listAnchors().map((a) => [a.domain, a.direction])).toEqual([
      ['*', 'inbound'],
      ['*', 'outbound'],
    ]);
    const bundle = await importAnchors(store, p7b);
    expect(fps(bundle.added)).toEqual([rootB.cert.fingerprintSha256]);
    expect(fps(bundle.already)).toEqual([rootA.cert.fingerprintSha256]);
  });

  it('checks validity at `at`: a certificate not yet valid then is refused', async () => {
    const result = await importAnchors(store, Buffer.from(rootA.pem), {
      at: new Date(rootA.cert.notBefore.getTime() - DAY),
    });
    expect(result.added).toEqual([]);
    expect(result.refused[0]?.reasons.map((r) => r.code)).toEqual(['CERT_NOT_YET_VALID']);
    expect(store.listAnchors()).toEqual([]);
  });

  it('nothing usable adds nothing; bytes that are no certificate are CERT_MALFORMED', async () => {
    const result = await importAnchors(store, Buffer.from(expired.pem));
    expect(result.added).toEqual([]);
    expect(result.refused).toHaveLength(1);
    expect(store.listAnchors()).toEqual([]);
    expect(await codeOf(() => importAnchors(store, Buffer.from('hello')))).toBe('CERT_MALFORMED');
    expect(
      await codeOf(() => importAnchors(store, Buffer.from(rootA.pem), { domain: 'a b' })),
    ).toBe('BAD_REQUEST');
  });
});

describe("the importAnchors call's certificate text", () => {
  it('takes PEM as text and anything else as base64 (whitespace allowed)', () => {
    expect(certificateBytes(rootA.pem).toString('utf8')).toBe(rootA.pem);
    const wrapped = rootA.der.toString('base64').replace(/(.{64})/g, '$1\n');
    expect(certificateBytes(wrapped).equals(rootA.der)).toBe(true);
  });

  it('refuses text that is neither, with CERT_MALFORMED', async () => {
    for (const text of ['not base64!', '', 'A', '====']) {
      expect(await codeOf(() => certificateBytes(text)), JSON.stringify(text)).toBe(
        'CERT_MALFORMED',
      );
    }
  });
});

describe('importIdentity', () => {
  it('keeps the identity, audits it once as key-import, and reports a second import as already there', async () => {
    const key = await generateKey();
    const cert = parseCertificate(
      issueCertificate({
        subject: { commonName: 'Dr. Lib' },
        key,
        email: ['dr.lib@clinic.example'],
      }),
    );
    const audit = new AuditLog(profile);
    const before = audit.list({ action: 'key-import' }).length;
    const first = await importIdentity(profile, { key, cert, chain: [] });
    expect(first.already).toBe(false);
    expect(first.record.addresses).toEqual([
      { address: 'dr.lib@clinic.example', bound: 'address' },
    ]);
    const second = await importIdentity(profile, { key, cert, chain: [] });
    expect(second.already).toBe(true);
    const entries = audit.list({ action: 'key-import' });
    expect(entries).toHaveLength(before + 1);
    expect(entries.at(-1)).toMatchObject({
      counterpart: 'dr.lib@clinic.example',
      detail: { fingerprint: cert.fingerprintSha256, keyLocation: 'database' },
    });
  });

  it('identityOfKey finds the key’s certificate among several and names the files when none fits', async () => {
    const [key, other] = await Promise.all([generateKey(), generateKey()]);
    const own = issueCertificate({ subject: { commonName: 'Own' }, key, email: ['own@x.example'] });
    const foreign = issueCertificate({ subject: { commonName: 'Foreign' }, key: other });
    const pem = (der: Buffer) => parseCertificate(der).x509.toString();
    const identity = identityOfKey(key, Buffer.from(pem(foreign) + pem(own)), {
      key: 'k.pem',
      cert: 'c.pem',
    });
    expect(identity.cert.subject).toMatch(/Own/);
    expect(identity.chain.map((c) => c.subject)).toEqual([expect.stringMatching(/Foreign/)]);
    let error: unknown;
    try {
      identityOfKey(key, Buffer.from(pem(foreign)), { key: 'k.pem', cert: 'c.pem' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HispError);
    expect((error as HispError).code).toBe('KEY_CERT_MISMATCH');
    expect((error as HispError).message).toMatch(
      /k\.pem does not belong to the certificate ".*Foreign.*" in c\.pem/,
    );
  });
});

describe('audit export and chain state', () => {
  it('exportAudit formats the filtered entries and records the export after reading them', () => {
    const log = new AuditLog(profile);
    log.append({ action: 'send', counterpart: 'Peer@Direct.Example', messageId: '<x@y>' });
    const count = log.count();
    const { text, entries } = exportAudit(
      log,
      { counterpart: 'peer@direct.example', since: new Date(0) },
      'json',
      'test',
    );
    expect(entries).toBe(1);
    expect((JSON.parse(text) as { action: string }[]).map((e) => e.action)).toEqual(['send']);
    expect(log.count()).toBe(count + 1);
    expect(log.list({ limit: 1 })[0]).toMatchObject({
      action: 'audit-export',
      detail: {
        format: 'json',
        entries: 1,
        to: 'test',
        since: new Date(0).toISOString(),
        counterpart: 'peer@direct.example',
      },
    });
  });

  it('an export longer than maxChars is LIMIT_EXCEEDED and leaves no entry', async () => {
    const log = new AuditLog(profile);
    const count = log.count();
    expect(await codeOf(() => exportAudit(log, {}, 'csv', 'test', 100))).toBe('LIMIT_EXCEEDED');
    expect(log.count()).toBe(count);
  });

  it('auditChainState: intact with the count; broken names the entry instead of throwing', () => {
    const log = new AuditLog(profile);
    expect(auditChainState(log)).toEqual({ intact: true, entries: log.count() });
    const ROLLBACK = new Error('roll back');
    let state: ReturnType<typeof auditChainState> | undefined;
    try {
      profile.db.transaction((db) => {
        db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
        db.prepare("UPDATE audit_log SET user = 'someone else' WHERE seq = 1").run();
        state = auditChainState(log);
        throw ROLLBACK;
      });
    } catch (error) {
      if (error !== ROLLBACK) throw error;
    }
    expect(state).toMatchObject({
      intact: false,
      seq: 1,
      problem: 'changed',
      entries: log.count(),
    });
    expect(auditChainState(log).intact).toBe(true);
  });

  it("the contract's audit actions are the store's", () => {
    expect([...AUDIT_ACTION_LIST]).toEqual([...AUDIT_ACTIONS]);
  });
});
