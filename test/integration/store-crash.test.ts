/**
 * Crash safety of the mailbox: a child Node process (hisp/store + hisp/agent bundled by esbuild
 * into a temp dir) opens a vault profile and loops writes — receiving Direct messages and
 * storing sent messages together with their queue rows — printing "ack …" on stdout only
 * AFTER each commit. The parent SIGKILLs it after a random number of acks (so the kill lands
 * at a random point of a later write), several rounds, and also in the middle of receiving a
 * 50 MB message. After each kill the profile is reopened in this process: every acknowledged
 * item is there and whole, quick_check is ok, and no row is partial (every message has its
 * index and search entry, every sent message all its queue rows).
 */
import { spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { MailStore } from '../../hisp/store/mail.js';
import { initProfile, openProfile, VAULT_FILE } from '../../hisp/store/profile.js';
import { bundleForChild } from '../services/bundle.js';
import { makeTempDir, type TempDir } from '../services/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RI = resolve(ROOT, '..', 'shared', 'interop', 'java-ri');
const der = (name: string) => readFileSync(join(RI, name));
const at = new Date('2026-11-01T00:00:00Z');
const GREG = 'gm2552@securehealthemail.com';
const RYAN = 'ryan@securehealthemail.com';
const PASSPHRASE = 'crash test passphrase';

/**
 * The child. argv: profile dir, java-ri dir, round tag, big message file or ''. Alternates
 * receive (a message signed by Greg, to Ryan, opened with Ryan's key) and storeSent+enqueue
 * (to two recipients); with a big file, receives that first, announcing "big start".
 */
const CHILD = `
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decryptAndVerify } from './hisp/agent/inbound.ts';
import { signAndEncrypt } from './hisp/agent/outbound.ts';
import { collect } from './hisp/agent/types.ts';
import { parseCertificate } from './hisp/certs/certificate.ts';
import { vaultMasterKeySource } from './hisp/keys/masterKey.ts';
import { createSilentLogger } from './hisp/log/logger.ts';
import { MailStore } from './hisp/store/mail.ts';
import { openProfile } from './hisp/store/profile.ts';

const [dir, ri, tag, bigFile] = process.argv.slice(2);
const der = (n) => readFileSync(join(ri, n));
const key = (n) => createPrivateKey({ key: der(n), format: 'der', type: 'pkcs8' });
const at = new Date('2026-11-01T00:00:00Z');
const greg = { certDer: der('gm2552.der'), chainDer: [], key: key('gm2552Key.der') };
const ryan = { certDer: der('ryan.der'), key: key('ryanKey.der') };
const anchor = parseCertificate(der('secureHealthEmailCACert.der'));
const open = async (raw) => {
  const r = await decryptAndVerify(raw, { keys: [ryan], anchors: [anchor], at, revocation: 'off',
    allowSha1CertificateSignatures: true, logger: createSilentLogger() });
  return { inner: r.inner, verification: { trusted: r.trusted, signer: r.signer?.address, reasons: r.reasons } };
};
const profile = await openProfile(dir, { keySourceFor: (_k, d) => vaultMasterKeySource({
  file: join(d, 'vault.json'), passphrase: Buffer.from(process.env.CRASH_PASSPHRASE) }) });
const store = new MailStore(profile);
const say = (line) => new Promise((ok) => process.stdout.write(line + '\\n', ok));
const message = (subject) => Buffer.from(
  'From: ${GREG}\\r\\nTo: ${RYAN}\\r\\nSubject: ' + subject + '\\r\\nMessage-ID: <' + subject +
  '@securehealthemail.com>\\r\\nMIME-Version: 1.0\\r\\nContent-Type: text/plain\\r\\n\\r\\n' +
  'body of ' + subject + '\\r\\n' + 'x'.repeat(2000 + Math.floor(Math.random() * 20000)) + '\\r\\n');
if (bigFile) {
  const raw = readFileSync(bigFile);
  await say('big start');
  const { id } = await store.receive({ raw, envelope: { from: '${GREG}', to: ['${RYAN}'] } }, open);
  await say('ack big ' + id);
}
for (let n = 0; ; n++) {
  const subject = tag + '-' + n;
  const inner = message(subject);
  const raw = collect(signAndEncrypt(inner, greg, [ryan.certDer], { now: at, allowSha1CertificateSignatures: true }).message);
  if (n % 2 === 0) {
    const { id } = await store.receive({ raw, envelope: { from: '${GREG}', to: ['${RYAN}'] } }, open);
    await say('ack in ' + id + ' ' + subject);
  } else {
    const { id } = store.storeSent({ raw, inner, envelope: { from: '${GREG}', to: ['${RYAN}', 'b@example.test'] },
      enqueue: ['${RYAN}', 'b@example.test'] });
    await say('ack out ' + id + ' ' + subject);
  }
}
`;

let temp: TempDir | undefined;
let bundle = '';
let profileDir = '';
let bigFile = '';
let bigSize = 0;

beforeAll(async () => {
  temp = await makeTempDir('store-crash');
  bundle = join(temp.path, 'child.mjs');
  await bundleForChild(CHILD, temp.path, 'child.mjs');
  // A 50 MB message for the mid-write kill (ciphertext only: this file holds no plaintext).
  const key = (name: string) => createPrivateKey({ key: der(name), format: 'der', type: 'pkcs8' });
  const attachment =
    randomBytes(50 * 1024 * 1024)
      .toString('base64')
      .match(/.{1,76}/g) ?? [];
  const inner = Buffer.from(
    `From: ${GREG}\r\nTo: ${RYAN}\r\nSubject: big\r\nMessage-ID: <big-${randomBytes(4).toString('hex')}@securehealthemail.com>\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n' +
      `Content-Disposition: attachment; filename="big.bin"\r\n\r\n${attachment.join('\r\n')}\r\n`,
  );
  const wire = collect(
    signAndEncrypt(
      inner,
      { certDer: der('gm2552.der'), chainDer: [], key: key('gm2552Key.der') },
      [der('ryan.der')],
      { now: at, allowSha1CertificateSignatures: true },
    ).message,
  );
  bigFile = join(temp.path, 'big.eml');
  bigSize = wire.length;
  await writeFile(bigFile, wire);
}, 120_000);

afterAll(async () => {
  await temp?.remove();
});

interface Acked {
  kind: 'in' | 'out' | 'big';
  id: number;
  subject: string;
}

/**
 * Runs the child until `killAfter` acks, or, with `big`, until the profile's WAL file has
 * grown past `walBytes` while the 50 MB message is being written (SQLite spills the
 * transaction's pages to the WAL before it commits), then SIGKILLs it.
 */
async function runChild(
  tag: string,
  options: { killAfter: number } | { big: true; walBytes: number },
): Promise<{ acked: Acked[]; signal: string | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [bundle, profileDir, RI, tag, 'big' in options ? bigFile : ''],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CRASH_PASSPHRASE: PASSPHRASE } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<string | null>((done) =>
    child.on('exit', (_code, signal) => done(signal)),
  );
  const acked: Acked[] = [];
  const lines = createInterface({ input: child.stdout });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  for await (const line of lines) {
    const [word, kind, id, subject] = line.split(' ');
    if (word === 'big' && kind === 'start' && 'big' in options) {
      const limit = options.walBytes;
      const wal = join(profileDir, 'sealpost.db-wal');
      const poll = setInterval(() => {
        let size = 0;
        try {
          size = statSync(wal).size;
        } catch {
          // not there yet
        }
        if (size >= limit || child.exitCode !== null || child.signalCode !== null) {
          clearInterval(poll);
          kill();
        }
      }, 2);
    }
    if (word === 'ack') {
      acked.push({ kind: kind as Acked['kind'], id: Number(id), subject: subject ?? '' });
      if ('big' in options && kind === 'big' && options.walBytes === Infinity) kill();
      if (
        'killAfter' in options &&
        acked.filter((a) => a.kind !== 'big').length >= options.killAfter
      ) {
        kill();
      }
    }
  }
  const signal = await exited;
  return { acked, signal, stderr };
}

async function reopenAndCheck(
  allAcked: readonly Acked[],
  rounds: number,
): Promise<{ messages: number; big: number | undefined }> {
  const profile = await openProfile(profileDir, {
    keySourceFor: (_kind, dir) =>
      vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase: Buffer.from(PASSPHRASE) }),
  });
  try {
    expect(profile.db.checkIntegrity()).toEqual([]);
    const store = new MailStore(profile);
    for (const item of allAcked) {
      const row = store.get(item.id);
      if (item.kind === 'big') {
        expect(row).toMatchObject({ subject: 'big', attachmentNames: ['big.bin'] });
        expect(row.size).toBe(bigSize);
        continue;
      }
      expect(row.subject).toBe(item.subject);
      expect(row.folder).toBe(item.kind === 'in' ? 'inbox' : 'outbox');
      if (item.kind === 'out') {
        expect(store.queueFor(item.id).map((q) => q.recipient)).toEqual([RYAN, 'b@example.test']);
      }
    }
    // Nothing partial, acknowledged or not.
    const counts = profile.db.read((db) => ({
      messages: (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n,
      orphanMessages: (
        db
          .prepare(
            `SELECT count(*) AS n FROM messages m
              WHERE NOT EXISTS (SELECT 1 FROM message_index i WHERE i.message_id = m.id)
                 OR NOT EXISTS (SELECT 1 FROM message_search_docsize s WHERE s.id = m.id)`,
          )
          .get() as { n: number }
      ).n,
      orphanIndex: (
        db
          .prepare(
            `SELECT (SELECT count(*) FROM message_index WHERE message_id NOT IN (SELECT id FROM messages))
                  + (SELECT count(*) FROM message_search_docsize WHERE id NOT IN (SELECT id FROM messages)) AS n`,
          )
          .get() as { n: number }
      ).n,
      partialQueues: (
        db
          .prepare(
            `SELECT count(*) AS n FROM messages m WHERE m.direction = 'out'
                AND (SELECT count(*) FROM outbound_queue q WHERE q.message_id = m.id) <> 2`,
          )
          .get() as { n: number }
      ).n,
      badSizes: (
        db.prepare('SELECT count(*) AS n FROM messages WHERE size <> length(ciphertext)').get() as {
          n: number;
        }
      ).n,
      foreignKeys: (db.pragma('foreign_key_check') as unknown[]).length,
    }));
    expect(counts).toMatchObject({
      orphanMessages: 0,
      orphanIndex: 0,
      partialQueues: 0,
      badSizes: 0,
      foreignKeys: 0,
    });
    // Besides the acknowledged ones, at most the write in flight at each kill committed.
    const ackedIds = new Set(allAcked.map((a) => a.id));
    const ids = profile.db.read(
      (db) => db.prepare('SELECT id FROM messages').all() as { id: number }[],
    );
    expect(ids.filter(({ id }) => !ackedIds.has(id)).length).toBeLessThanOrEqual(rounds);
    const big = store.search('big').find((r) => r.subject === 'big');
    if (big !== undefined) expect(big.size).toBe(bigSize);
    return { messages: counts.messages, big: big?.id };
  } finally {
    profile.close();
  }
}

async function removeMessage(id: number): Promise<void> {
  const profile = await openProfile(profileDir, {
    keySourceFor: (_kind, dir) =>
      vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase: Buffer.from(PASSPHRASE) }),
  });
  try {
    new MailStore(profile).delete(id);
  } finally {
    profile.close();
  }
}

async function freshProfile(name: string): Promise<void> {
  profileDir = join(temp?.path ?? '', name);
  const profile = await initProfile(profileDir, {
    keySource: vaultMasterKeySource({
      file: join(profileDir, VAULT_FILE),
      passphrase: Buffer.from(PASSPHRASE),
    }),
  });
  profile.close();
}

describe('mailbox crash safety', () => {
  it('kill -9 during receive and queue writes loses nothing acknowledged; the database stays consistent', async () => {
    await freshProfile('small');
    const all: Acked[] = [];
    const log: string[] = [];
    for (let round = 0; round < 5; round++) {
      const killAfter = randomInt(1, 25);
      const { acked, signal, stderr } = await runChild(`r${round}`, { killAfter });
      expect(signal, stderr).toBe('SIGKILL');
      expect(acked.length).toBeGreaterThanOrEqual(killAfter);
      all.push(...acked);
      const { messages } = await reopenAndCheck(all, round + 1);
      log.push(`round ${round}: killed after ${acked.length} acks, ${messages} messages`);
    }
    console.log(log.join('\n'));
  }, 120_000);

  it('kill -9 in the middle of receiving a 50 MB message', async () => {
    await freshProfile('big');
    const all: Acked[] = [];
    const log: string[] = [];
    const MiB = 1024 * 1024;
    // The last round lets the big message commit: killed right after its ack.
    const limits = [randomInt(1, 20), randomInt(20, 50), randomInt(50, 90), Infinity].map(
      (n) => n * MiB,
    );
    for (const [round, walBytes] of limits.entries()) {
      const { acked, signal, stderr } = await runChild(`big${round}`, { big: true, walBytes });
      expect(signal, stderr).toBe('SIGKILL');
      all.push(...acked);
      const { big } = await reopenAndCheck(all, round + 1);
      const bigAcked = acked.some((a) => a.kind === 'big');
      if (bigAcked) expect(big).toBeDefined();
      if (walBytes === Infinity) expect(bigAcked).toBe(true);
      log.push(
        `big round ${round}: killed when the WAL reached ${walBytes / MiB} MiB, ` +
          `${bigAcked ? 'after' : 'before'} the big message was acknowledged; stored: ${big !== undefined}`,
      );
      // Remove it, so the next round writes it again (the same bytes would be a duplicate).
      if (big !== undefined) {
        await removeMessage(big);
        all.splice(0, all.length, ...all.filter((a) => a.id !== big));
      }
    }
    console.log(log.join('\n'));
  }, 180_000);
});
