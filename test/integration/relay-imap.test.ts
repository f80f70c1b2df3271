/**
 * hisp/relay/imapPull.ts against a real Dovecot (test/services, TLS with its own CA): Direct
 * messages (signed and encrypted by the outbound agent from the java-ri interop identities)
 * APPENDed by another IMAP client land in a vault profile's MailStore; the upstream action
 * (delete, move, flag, keep) happens only after the local commit; UIDVALIDITY changes, IDLE,
 * reconnection with backoff, SIGKILL of a pulling child process, and the refusal of a server
 * that offers no TLS. Also migration 6 (upstream state tables).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { createLogger, createSilentLogger, type Logger } from '../../hisp/log/logger.js';
import {
  envelopeOf,
  ImapPull,
  ImapPullError,
  type AfterStore,
  type ImapPullOptions,
} from '../../hisp/relay/imapPull.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { GREG, greg, RI_AT, riOpener, RYAN, ryan } from '../unit/interop-identities.js';
import { MailStore, type OpenFn } from '../../hisp/store/mail.js';
import { m006 } from '../../hisp/store/migrations/006-upstream.js';
import { MIGRATIONS } from '../../hisp/store/migrations.js';
import { initProfile, openProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import { bundleForChild } from '../services/bundle.js';
import { makeTempDir, startDovecot, type DovecotHandle, type TempDir } from '../services/index.js';
import { waitUntil } from '../services/proc.js';
import { emptyStore, fillStore } from '../services/storeFull.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RI = resolve(ROOT, '..', 'shared', 'interop', 'java-ri');
const at = RI_AT;
const PASSPHRASE = 'imap pull tests';

const ryanOpens: OpenFn = riOpener([ryan]);

function plain(subject: string, padding = 0): Buffer {
  return Buffer.from(
    `From: Greg <${GREG}>\r\nTo: ${RYAN}\r\nSubject: ${subject}\r\n` +
      `Date: Sun, 01 Nov 2026 00:00:00 +0000\r\n` +
      `Message-ID: <${subject}@securehealthemail.com>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\nbody of ${subject}\r\n` +
      `${'x'.repeat(padding)}\r\n`,
  );
}

function direct(subject: string, padding = 0): Buffer {
  return collect(
    signAndEncrypt(plain(subject, padding), greg, [ryan.certDer], {
      now: at,
      allowSha1CertificateSignatures: true,
    }).message,
  );
}

let dovecot: DovecotHandle | undefined;
let temp: TempDir | undefined;
const profiles: Profile[] = [];
let userCount = 0;

beforeAll(async () => {
  dovecot = await startDovecot();
  temp = await makeTempDir('relay-imap');
});

afterAll(async () => {
  for (const p of profiles) p.close();
  await dovecot?.stop();
  await temp?.remove();
});

function server(): DovecotHandle {
  if (!dovecot) throw new Error('dovecot did not start');
  return dovecot;
}

interface Account {
  user: string;
  pass: string;
}

/** A fresh upstream user per test: tests do not see each other's mail. */
async function freshUser(): Promise<Account> {
  userCount += 1;
  const user = `practice${userCount}@example.test`;
  const pass = randomBytes(8).toString('hex');
  await server().addUser(user, pass);
  return { user, pass };
}

async function freshProfile(name: string): Promise<{ dir: string; profile: Profile }> {
  const dir = join(temp?.path ?? '', name);
  const profile = await initProfile(dir, {
    keySource: vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from(PASSPHRASE),
    }),
  });
  profiles.push(profile);
  return { dir, profile };
}

async function reopen(dir: string): Promise<Profile> {
  const profile = await openProfile(dir, {
    keySourceFor: (_kind, d) =>
      vaultMasterKeySource({ file: join(d, VAULT_FILE), passphrase: Buffer.from(PASSPHRASE) }),
  });
  profiles.push(profile);
  return profile;
}

/** Another IMAP client of the same mailbox (implicit TLS). */
async function otherClient(account: Account): Promise<ImapFlow> {
  const d = server();
  const client = new ImapFlow({
    host: d.host,
    port: d.imapsPort,
    secure: true,
    auth: { user: account.user, pass: account.pass },
    tls: { ca: [d.caPem] },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: 10_000,
  });
  client.on('error', () => {
    // a rejected command rejects its promise
  });
  await client.connect();
  return client;
}

async function append(
  account: Account,
  messages: readonly Buffer[],
  mailbox = 'INBOX',
): Promise<void> {
  const client = await otherClient(account);
  try {
    for (const m of messages) expect(await client.append(mailbox, m)).not.toBe(false);
  } finally {
    await client.logout();
  }
}

interface UpstreamMessage {
  uid: number;
  flags: string[];
  messageId: string | undefined;
}

/** What a mailbox holds, as another client sees it. */
async function upstream(account: Account, mailbox = 'INBOX'): Promise<UpstreamMessage[]> {
  const client = await otherClient(account);
  try {
    const status = await client.status(mailbox, { messages: true });
    if (status === false || !status.messages) return [];
    const lock = await client.getMailboxLock(mailbox);
    try {
      const all = await client.fetchAll('1:*', { uid: true, flags: true, envelope: true });
      return all.map((m) => ({
        uid: m.uid,
        flags: [...(m.flags ?? [])],
        messageId: m.envelope?.messageId,
      }));
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

async function uidValidityOf(client: ImapFlow, mailbox = 'Direct'): Promise<bigint> {
  const status = await client.status(mailbox, { uidValidity: true });
  if (status === false || status.uidValidity === undefined) throw new Error('no UIDVALIDITY');
  return status.uidValidity;
}

interface Captured {
  logger: Logger;
  lines: () => Record<string, unknown>[];
}

function capture(): Captured {
  const lines: string[] = [];
  return {
    logger: createLogger({ level: 'debug', sink: (line) => lines.push(line) }),
    lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

function pullFor(
  account: Account,
  profile: Profile,
  store: MailStore,
  afterStore: AfterStore,
  extra: Partial<ImapPullOptions> = {},
): ImapPull {
  const d = server();
  return new ImapPull({
    profile,
    store,
    open: ryanOpens,
    account: {
      host: d.host,
      port: d.imapsPort,
      secure: 'implicit',
      user: account.user,
      pass: account.pass,
      tls: { ca: d.caPem },
    },
    afterStore,
    logger: createSilentLogger(),
    pollMs: 600_000,
    ...extra,
  });
}

function upstreamRows(profile: Profile): { uid: number; state: string; action: string }[] {
  return profile.db.read(
    (db) =>
      db.prepare('SELECT uid, state, action FROM upstream_messages ORDER BY uid').all() as {
        uid: number;
        state: string;
        action: string;
      }[],
  );
}

describe('migration 6 (upstream mailbox state)', () => {
  it('creates STRICT tables whose CHECKs refuse bad states and actions', () => {
    const db = EncryptedDatabase.open({
      file: join(temp?.path ?? '', 'm6.db'),
      key: randomBytes(32),
      migrations: MIGRATIONS,
    });
    try {
      expect(db.version).toBeGreaterThanOrEqual(m006.version);
      db.read((sql) => {
        const strict = sql
          .prepare(`SELECT name, strict FROM pragma_table_list WHERE schema = 'main'`)
          .all() as { name: string; strict: number }[];
        for (const table of ['upstream_mailboxes', 'upstream_messages']) {
          expect(strict.find((t) => t.name === table)?.strict).toBe(1);
        }
      });
      db.transaction((sql) =>
        sql
          .prepare(
            `INSERT INTO upstream_mailboxes (account, mailbox, uidvalidity, updated_at)
             VALUES ('a', 'INBOX', 7, 'now')`,
          )
          .run(),
      );
      const insert = (state: string, action: string, messageId: number | null, uid = 1) =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO upstream_messages (account, mailbox, uidvalidity, uid, state, action,
                 message_id, updated_at) VALUES ('a', 'INBOX', 7, ?, ?, ?, ?, 'now')`,
            )
            .run(uid, state, action, messageId),
        );
      expect(() => insert('lost', 'keep', 1)).toThrow(/CHECK/);
      expect(() => insert('stored', 'archive', 1)).toThrow(/CHECK/);
      expect(() => insert('stored', 'keep', null)).toThrow(/CHECK/);
      expect(() => insert('failed', 'keep', 1)).toThrow(/CHECK/);
      expect(() => insert('stored', 'keep', 1, 0)).toThrow(/CHECK/);
      insert('stored', 'delete', 1, 1);
      insert('failed', 'delete', null, 2);
      expect(() =>
        db.transaction((sql) =>
          sql
            .prepare(
              `INSERT INTO upstream_mailboxes (account, mailbox, uidvalidity, updated_at)
               VALUES ('b', 'INBOX', 0, 'now')`,
            )
            .run(),
        ),
      ).toThrow(/CHECK/);
    } finally {
      db.close();
    }
  });
});

describe('envelopeOf', () => {
  it('takes Return-Path / Delivered-To over From / To+Cc, and a null sender falls back to From', () => {
    const headers = (h: string) => Buffer.from(`${h}\r\n\r\nbody\r\n`);
    expect(envelopeOf(headers(`From: G <${GREG}>\r\nTo: ${RYAN}\r\nCc: c@x.test`))).toEqual({
      from: GREG,
      to: [RYAN, 'c@x.test'],
    });
    expect(
      envelopeOf(
        headers(
          `Return-Path: <bounce@x.test>\r\nDelivered-To: d@x.test\r\nFrom: ${GREG}\r\nTo: ${RYAN}`,
        ),
      ),
    ).toEqual({ from: 'bounce@x.test', to: ['d@x.test'] });
    expect(envelopeOf(headers(`Return-Path: <>\r\nFrom: ${GREG}\r\nTo: ${RYAN}`)).from).toBe(GREG);
  });
});

describe('inbound pull from a real Dovecot', () => {
  it("'delete': a Direct message APPENDed by another client lands in the inbox, trusted, and is expunged upstream only after the local commit", async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('delete');
    const store = new MailStore(profile);
    const subject = `del-${randomBytes(4).toString('hex')}`;
    await append(account, [direct(subject)]);
    expect(await upstream(account)).toHaveLength(1);

    // At the moment receive() has committed, the message must still be upstream, whole.
    const seenAtCommit: { upstream: number; local: number }[] = [];
    const watched = Object.create(store) as MailStore;
    watched.receive = async (input, open) => {
      const result = await store.receive(input, open);
      seenAtCommit.push({
        upstream: (await upstream(account)).filter((m) => !m.flags.includes('\\Deleted')).length,
        local: store.list('inbox').length,
      });
      return result;
    };
    const pull = pullFor(account, profile, watched, 'delete');
    try {
      expect(await pull.syncOnce()).toEqual({ fetched: 1, stored: 1, duplicates: 0 });
    } finally {
      await pull.stop();
    }
    expect(seenAtCommit).toEqual([{ upstream: 1, local: 1 }]);
    const inbox = store.list('inbox');
    expect(inbox.map((r) => [r.subject, r.trusted])).toEqual([[subject, true]]);
    expect(await upstream(account)).toEqual([]);
    expect(upstreamRows(profile)).toEqual([{ uid: 1, state: 'done', action: 'delete' }]);
    // Nothing new: a second pass fetches nothing.
    const again = pullFor(account, profile, store, 'delete');
    try {
      expect(await again.syncOnce()).toEqual({ fetched: 0, stored: 0, duplicates: 0 });
    } finally {
      await again.stop();
    }
  });

  it("'move' moves to the configured folder, 'flag' sets \\Seen and keeps it, both after storing; no refetch", async () => {
    const moveAccount = await freshUser();
    const { profile } = await freshProfile('move');
    const store = new MailStore(profile);
    await append(moveAccount, [direct('move-1'), direct('move-2')]);
    const mover = pullFor(moveAccount, profile, store, 'move', { moveTo: 'Pulled-Direct' });
    try {
      expect(await mover.syncOnce()).toEqual({ fetched: 2, stored: 2, duplicates: 0 });
    } finally {
      await mover.stop();
    }
    expect(await upstream(moveAccount)).toEqual([]);
    const moved = await upstream(moveAccount, 'Pulled-Direct');
    expect(moved.map((m) => m.messageId).sort()).toEqual([
      '<move-1@securehealthemail.com>',
      '<move-2@securehealthemail.com>',
    ]);
    expect(
      store
        .list('inbox')
        .map((r) => r.subject)
        .sort(),
    ).toEqual(['move-1', 'move-2']);

    const flagAccount = await freshUser();
    const { profile: p2 } = await freshProfile('flag');
    const store2 = new MailStore(p2);
    await append(flagAccount, [direct('flag-1')]);
    const flagger = pullFor(flagAccount, p2, store2, 'flag');
    try {
      expect(await flagger.syncOnce()).toEqual({ fetched: 1, stored: 1, duplicates: 0 });
      // Still there, \Seen; the high-water mark keeps it from being fetched again.
      const left = await upstream(flagAccount);
      expect(left).toHaveLength(1);
      expect(left[0]?.flags).toContain('\\Seen');
      expect(await flagger.syncOnce()).toEqual({ fetched: 0, stored: 0, duplicates: 0 });
    } finally {
      await flagger.stop();
    }
    expect(store2.list('inbox').map((r) => r.subject)).toEqual(['flag-1']);
    expect(upstreamRows(p2)).toEqual([{ uid: 1, state: 'done', action: 'flag' }]);
  });

  it('risk-8: a non-S/MIME message is stored in untrusted (not lost, never trusted), then removed upstream', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('untrusted');
    const store = new MailStore(profile);
    await append(account, [plain('not-smime')]);
    const pull = pullFor(account, profile, store, 'delete');
    try {
      expect(await pull.syncOnce()).toEqual({ fetched: 1, stored: 1, duplicates: 0 });
    } finally {
      await pull.stop();
    }
    expect(store.list('inbox')).toEqual([]);
    const untrusted = store.list('untrusted');
    expect(untrusted).toHaveLength(1);
    expect(untrusted[0]?.trusted).toBe(false);
    expect(await upstream(account)).toEqual([]);
  });

  it('a message that cannot be stored stays upstream untouched, is retried, then given up', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('failing');
    const store = new MailStore(profile);
    await append(account, [direct('fail-1', 4000), direct('fail-2')]);
    expect(await upstream(account)).toHaveLength(2);
    // The store refuses fail-1 (say the disk is full); fail-2 goes through.
    const failing = Object.create(store) as MailStore;
    let refused = 0;
    failing.receive = async (input, open) => {
      if (input.raw.length > 8000) {
        refused += 1;
        throw new HispError('STORE_CORRUPT');
      }
      return store.receive(input, open);
    };
    const log = capture();
    const pull = pullFor(account, profile, failing, 'delete', {
      maxAttempts: 2,
      logger: log.logger,
    });
    try {
      expect(await pull.syncOnce()).toEqual({ fetched: 2, stored: 1, duplicates: 0 });
      expect((await upstream(account)).map((m) => m.messageId)).toEqual([
        '<fail-1@securehealthemail.com>',
      ]);
      expect(await pull.syncOnce()).toEqual({ fetched: 1, stored: 0, duplicates: 0 });
      // Given up after two attempts: not fetched again, still upstream.
      expect(await pull.syncOnce()).toEqual({ fetched: 0, stored: 0, duplicates: 0 });
    } finally {
      await pull.stop();
    }
    expect(refused).toBe(2);
    expect((await upstream(account)).map((m) => m.messageId)).toEqual([
      '<fail-1@securehealthemail.com>',
    ]);
    expect(upstreamRows(profile)).toEqual([
      { uid: 1, state: 'failed', action: 'delete' },
      { uid: 2, state: 'done', action: 'delete' },
    ]);
    expect(log.lines().map((l) => [l['msg'], l['code']])).toEqual(
      expect.arrayContaining([
        ['upstream message could not be stored; will retry', 'STORE_CORRUPT'],
        ['upstream message could not be stored; given up, left upstream', 'STORE_CORRUPT'],
      ]),
    );

    // Over the size limit: never fetched whole, left upstream.
    const big = await freshUser();
    await append(big, [direct('too-big', 20_000)]);
    const limited = pullFor(big, profile, store, 'delete', { maxMessageBytes: 10_000 });
    try {
      expect(await limited.syncOnce()).toEqual({ fetched: 0, stored: 0, duplicates: 0 });
    } finally {
      await limited.stop();
    }
    expect(await upstream(big)).toHaveLength(1);
  });

  it('a full disk: the message stays upstream and is tried at every pass, never given up; stored once there is room', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('full-disk');
    const store = new MailStore(profile);
    const log = capture();
    const pull = pullFor(account, profile, store, 'delete', { maxAttempts: 2, logger: log.logger });
    // The fault made by SQLite itself (storeFull.ts): the ~60 KB message needs new pages;
    // the small bookkeeping rows fit in existing ones.
    try {
      await append(account, [direct('first', 100)]);
      expect(await pull.syncOnce()).toEqual({ fetched: 1, stored: 1, duplicates: 0 });
      await append(account, [direct('full-1', 60_000)]);
      fillStore(profile);
      for (let pass = 0; pass < 4; pass++) {
        // More passes than maxAttempts: a full disk does not count towards giving up.
        expect(await pull.syncOnce(), `pass ${pass}`).toEqual({
          fetched: 1,
          stored: 0,
          duplicates: 0,
        });
      }
      expect((await upstream(account)).map((m) => m.messageId)).toEqual([
        '<full-1@securehealthemail.com>',
      ]);
      emptyStore(profile);
      expect(await pull.syncOnce()).toEqual({ fetched: 1, stored: 1, duplicates: 0 });
    } finally {
      emptyStore(profile);
      await pull.stop();
    }
    expect(await upstream(account)).toEqual([]);
    expect(store.list('inbox').map((m) => m.subject)).toEqual(
      expect.arrayContaining(['first', 'full-1']),
    );
    const messages = log.lines().map((l) => [l['msg'], l['code']]);
    expect(messages).toContainEqual([
      'upstream message could not be stored: the disk is full; will retry',
      'STORE_FULL',
    ]);
    expect(messages.map(([msg]) => msg)).not.toContain(
      'upstream message could not be stored; given up, left upstream',
    );
  });

  it('a UIDVALIDITY change starts over from UID 1, logs it, and stores no duplicate', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('uidvalidity');
    const store = new MailStore(profile);
    const first = [direct('uv-1'), direct('uv-2')];
    const client = await otherClient(account);
    let before: bigint;
    let after: bigint;
    try {
      await client.mailboxCreate('Direct');
      before = await uidValidityOf(client);
    } finally {
      await client.logout();
    }
    await append(account, first, 'Direct');
    const log = capture();
    const pull = pullFor(account, profile, store, 'keep', {
      account: {
        host: server().host,
        port: server().imapsPort,
        secure: 'implicit',
        user: account.user,
        pass: account.pass,
        tls: { ca: server().caPem },
        mailbox: 'Direct',
      },
      logger: log.logger,
    });
    try {
      expect(await pull.syncOnce()).toEqual({ fetched: 2, stored: 2, duplicates: 0 });
      // The mailbox is deleted and made again (a new UIDVALIDITY) by another client, with
      // the same two messages and one new one.
      const other = await otherClient(account);
      try {
        await other.mailboxDelete('Direct');
        await other.mailboxCreate('Direct');
        after = await uidValidityOf(other);
      } finally {
        await other.logout();
      }
      expect(after).not.toBe(before);
      await append(account, [...first, direct('uv-3')], 'Direct');
      expect(await pull.syncOnce()).toEqual({ fetched: 3, stored: 1, duplicates: 2 });
    } finally {
      await pull.stop();
    }
    expect(
      store
        .list('inbox')
        .map((r) => r.subject)
        .sort(),
    ).toEqual(['uv-1', 'uv-2', 'uv-3']);
    const changed = log.lines().filter((l) => String(l['msg']).includes('UIDVALIDITY changed'));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ previous: Number(before), uidValidity: Number(after) });
    const state = profile.db.read((db) =>
      db.prepare('SELECT uidvalidity, high_uid FROM upstream_mailboxes').all(),
    );
    expect(state).toEqual([{ uidvalidity: Number(after), high_uid: 3 }]);
  });

  it('IDLE picks up a new message without waiting for the poll (poll set to 10 minutes)', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('idle');
    const store = new MailStore(profile);
    await append(account, [direct('idle-1')]);
    const pull = pullFor(account, profile, store, 'keep', { idle: true, pollMs: 600_000 });
    pull.start();
    try {
      await waitUntil(() => store.list('inbox').length === 1, { timeoutMs: 20_000 });
      // The first sync is done; only an IDLE notification can bring the next one this side
      // of the 10-minute poll.
      await append(account, [direct('idle-2')]);
      await waitUntil(() => store.list('inbox').length === 2, { timeoutMs: 20_000 });
    } finally {
      await pull.stop();
    }
    expect(
      store
        .list('inbox')
        .map((r) => r.subject)
        .sort(),
    ).toEqual(['idle-1', 'idle-2']);
  });

  it('reconnects with exponential backoff after the connection is lost', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('reconnect');
    const store = new MailStore(profile);
    const proxy = await startProxy(server().imapsPort);
    const log = capture();
    const pull = pullFor(account, profile, store, 'delete', {
      account: {
        host: server().host,
        port: proxy.port,
        secure: 'implicit',
        user: account.user,
        pass: account.pass,
        tls: { ca: server().caPem },
      },
      logger: log.logger,
      pollMs: 600_000,
      backoff: { initialMs: 20, factor: 2, maxMs: 10_000 },
    });
    await append(account, [direct('re-1')]);
    pull.start();
    try {
      await waitUntil(() => store.list('inbox').length === 1, { timeoutMs: 20_000 });
      // The link goes down and stays down for three connection attempts.
      proxy.refuse(3);
      proxy.dropAll();
      await waitUntil(() => proxy.refused() >= 3, { timeoutMs: 20_000 });
      await append(account, [direct('re-2')]);
      await waitUntil(() => store.list('inbox').length === 2, { timeoutMs: 20_000 });
    } finally {
      await pull.stop();
      await proxy.close();
    }
    const retries = log.lines().filter((l) => l['msg'] === 'upstream sync failed; retrying');
    expect(retries.length).toBeGreaterThanOrEqual(3);
    const delays = retries.map((l) => l['retryInMs'] as number);
    // 20, 40, 80 ms ...: each failure in a row doubles the wait.
    expect(delays.slice(0, 3)).toEqual([20, 40, 80]);
    expect(log.lines().some((l) => l['msg'] === 'upstream reconnected')).toBe(true);
    // risk-19: the log carries ids and codes, never the password or message content.
    const text = log
      .lines()
      .map((l) => JSON.stringify(l))
      .join('\n');
    expect(text).not.toContain(account.pass);
    expect(text).not.toMatch(/re-[12]|body of|BEGIN|MII/);
    expect(await upstream(account)).toEqual([]);
  }, 60_000);

  it('refuses an untrusted server certificate and reports a refused login', async () => {
    const account = await freshUser();
    const { profile } = await freshProfile('refusals');
    const store = new MailStore(profile);
    const d = server();
    const attempt = async (extra: Partial<ImapPullOptions>) => {
      const pull = pullFor(account, profile, store, 'delete', extra);
      try {
        return await pull.syncOnce().then(
          () => undefined,
          (e: unknown) => e,
        );
      } finally {
        await pull.stop();
      }
    };
    const base = { host: d.host, user: account.user, pass: account.pass };
    // No CA given: the self-signed certificate is not trusted, on either port.
    for (const account of [
      { ...base, port: d.imapsPort, secure: 'implicit' as const },
      { ...base, port: d.imapPort, secure: 'starttls' as const },
    ]) {
      const error = await attempt({ account });
      expect(error).toBeInstanceOf(ImapPullError);
      expect((error as ImapPullError).kind).toBe('tls');
    }
    const wrong = await attempt({
      account: {
        ...base,
        pass: `${account.pass}x`,
        port: d.imapsPort,
        secure: 'implicit',
        tls: { ca: d.caPem },
      },
    });
    expect(wrong).toBeInstanceOf(ImapPullError);
    expect((wrong as ImapPullError).kind).toBe('auth');
    expect(upstreamRows(profile)).toEqual([]);
  });

  it('refuses to log in when the server does not offer STARTTLS (a plaintext-only IMAP server)', async () => {
    // Dovecot here always offers TLS (and accepts plaintext LOGIN from 127.0.0.1), so this is
    // a minimal IMAP server that offers no STARTTLS and records what the client sends.
    const fake = await startPlaintextImap();
    const { profile } = await freshProfile('plaintext');
    const pull = new ImapPull({
      profile,
      store: new MailStore(profile),
      open: ryanOpens,
      account: {
        host: '127.0.0.1',
        port: fake.port,
        secure: 'starttls',
        user: 'victim@example.test',
        pass: 'secret-pw-123',
      },
      afterStore: 'delete',
      logger: createSilentLogger(),
    });
    try {
      const error = await pull.syncOnce().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ImapPullError);
      expect((error as ImapPullError).kind).toBe('tls');
    } finally {
      await pull.stop();
      await fake.close();
    }
    // It did connect (and read the greeting, whose capabilities offer no STARTTLS)...
    expect(fake.connections()).toBeGreaterThanOrEqual(1);
    // ...and sent no credential.
    expect(fake.received()).not.toMatch(/LOGIN|AUTHENTICATE|secret-pw-123/i);
    // The imapflow options can never ask for cleartext.
    const opts = pull.clientOptions();
    expect(opts).toMatchObject({ secure: false, doSTARTTLS: true });
    expect(opts.tls).toMatchObject({ rejectUnauthorized: true });
    const implicit = pullFor({ user: 'u', pass: 'p' }, profile, new MailStore(profile), 'keep');
    expect(implicit.clientOptions()).toMatchObject({ secure: true });
    expect(implicit.clientOptions().doSTARTTLS).toBeUndefined();
    expect(
      () =>
        new ImapPull({
          profile,
          store: new MailStore(profile),
          open: ryanOpens,
          account: { host: 'h', port: 143, secure: 'none' as 'implicit', user: 'u', pass: 'p' },
          afterStore: 'keep',
          logger: createSilentLogger(),
        }),
    ).toThrow(/TLS/);
  });
});

// ── Kill mid-fetch ──────────────────────────────────────────────────────────────────────────

/**
 * The child: pulls once ('delete') into the profile, logging JSON lines to stdout. CRASH_AT
 * makes it SIGKILL itself at an exact point: "receive:<k>" right after the k-th message is
 * committed locally (before its UID is recorded), "record:<k>" right after the k-th UID is
 * recorded as stored (before the upstream action).
 */
const CHILD = `
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptAndVerify } from './hisp/agent/inbound.ts';
import { parseCertificate } from './hisp/certs/certificate.ts';
import { vaultMasterKeySource } from './hisp/keys/masterKey.ts';
import { createLogger, createSilentLogger } from './hisp/log/logger.ts';
import { ImapPull } from './hisp/relay/imapPull.ts';
import { MailStore } from './hisp/store/mail.ts';
import { openProfile } from './hisp/store/profile.ts';

const [dir, ri] = process.argv.slice(2);
const cfg = JSON.parse(process.env.PULL_CONFIG);
const [crashAt, crashN] = (process.env.CRASH_AT || ':').split(':');
const der = (n) => readFileSync(join(ri, n));
const ryan = { certDer: der('ryan.der'), key: createPrivateKey({ key: der('ryanKey.der'), format: 'der', type: 'pkcs8' }) };
const anchor = parseCertificate(der('secureHealthEmailCACert.der'));
const at = new Date('2026-11-01T00:00:00Z');
const open = async (raw, hints) => {
  const r = await decryptAndVerify(raw, { consumeInput: hints?.owned === true, keys: [ryan], anchors: [anchor], at,
    revocation: 'off', allowSha1CertificateSignatures: true, logger: createSilentLogger() });
  return { inner: r.inner, verification: { trusted: r.trusted, signer: r.signer?.address, reasons: r.reasons } };
};
const profile = await openProfile(dir, { keySourceFor: (_k, d) => vaultMasterKeySource({
  file: join(d, 'vault.json'), passphrase: Buffer.from(process.env.PULL_PASSPHRASE) }) });
const die = () => { process.kill(process.pid, 'SIGKILL'); };
let received = 0;
let recorded = 0;
const store = new MailStore(profile);
const watched = Object.create(store);
watched.receive = async (input, openFn) => {
  const result = await store.receive(input, openFn);
  received += 1;
  if (crashAt === 'receive' && received === Number(crashN)) die();
  return result;
};
const logger = createLogger({ sink: (line) => {
  require('node:fs').writeSync(1, line + '\\n');
  if (crashAt === 'record' && line.includes('"upstream message stored"') && ++recorded === Number(crashN)) die();
} });
const pull = new ImapPull({ profile, store: watched, open, account: cfg.account,
  afterStore: cfg.afterStore, logger });
const result = await pull.syncOnce();
await pull.stop();
profile.close();
require('node:fs').writeSync(1, JSON.stringify({ msg: 'child done', ...result }) + '\\n');
`;

describe('kill mid-fetch', () => {
  it('SIGKILL of a pulling process after its first store loses nothing and duplicates nothing', async () => {
    const account = await freshUser();
    const { dir, profile } = await freshProfile('crash');
    profile.close();
    profiles.splice(profiles.indexOf(profile), 1);
    const bundle = await bundleForChild(CHILD, temp?.path ?? '', 'imap-pull-child.mjs');
    const N = 12;
    const subjects = Array.from({ length: N }, (_, i) => `crash-${i}`);
    // ~300 KB each: the kill lands while later messages are being fetched or stored.
    await append(
      account,
      subjects.map((s) => direct(s, 300_000)),
    );
    const d = server();
    const config = {
      account: {
        host: d.host,
        port: d.imapPort,
        secure: 'starttls',
        user: account.user,
        pass: account.pass,
        tls: { ca: d.caPem },
      },
      afterStore: 'delete',
    };

    const run = async (crash: { killAfter?: number; crashAt?: string }) => {
      const child = spawn(process.execPath, [bundle.path, dir, RI], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          PULL_CONFIG: JSON.stringify(config),
          PULL_PASSPHRASE: PASSPHRASE,
          CRASH_AT: crash.crashAt ?? '',
        },
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
        child.on('exit', (code, signal) => done({ code, signal })),
      );
      const entries: Record<string, unknown>[] = [];
      let stores = 0;
      for await (const line of createInterface({ input: child.stdout })) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        entries.push(entry);
        if (entry['msg'] === 'upstream message stored') {
          stores += 1;
          if (crash.killAfter !== undefined && stores >= crash.killAfter) {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          }
        }
      }
      return { ...(await exited), stores, entries, stderr };
    };

    /** Between rounds: nothing stored twice; every message is upstream or stored (or both). */
    const check = async (): Promise<string> => {
      const p = await reopen(dir);
      try {
        const stored = new MailStore(p).list('inbox', { limit: 100 }).map((row) => row.subject);
        expect(new Set(stored).size).toBe(stored.length);
        const left = (await upstream(account)).map((m) => m.messageId);
        let both = 0;
        for (const s of subjects) {
          const there = left.includes(`<${s}@securehealthemail.com>`);
          expect(there || stored.includes(s), `${s} is neither upstream nor stored`).toBe(true);
          if (there && stored.includes(s)) both += 1;
        }
        const pending = upstreamRows(p).filter((r) => r.state === 'stored').length;
        return `${stored.length} stored, ${left.length} upstream, ${both} in both, ${pending} pending actions`;
      } finally {
        p.close();
        profiles.splice(profiles.indexOf(p), 1);
      }
    };

    const rounds: string[] = [];
    const all: Record<string, unknown>[] = [];
    for (const crash of [
      { killAfter: 1 },
      { crashAt: 'receive:2' },
      { crashAt: 'record:2' },
      { killAfter: 2 },
    ]) {
      const r = await run(crash);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      all.push(...r.entries);
      rounds.push(`${JSON.stringify(crash)}: ${r.stores} store lines; ${await check()}`);
    }
    const last = await run({});
    expect(last.code, last.stderr).toBe(0);
    all.push(...last.entries);
    const done = last.entries.find((e) => e['msg'] === 'child done');
    rounds.push(`final run: ${JSON.stringify(done)}; ${await check()}`);
    // The message committed just before the 'receive' crash came again as a duplicate, and
    // the action of the one recorded just before the 'record' crash was resumed.
    const duplicates = all.filter((e) => e['msg'] === 'upstream message stored' && e['duplicate']);
    expect(duplicates.length).toBeGreaterThanOrEqual(1);
    expect(all.some((e) => e['msg'] === 'upstream actions resumed')).toBe(true);

    const p = await reopen(dir);
    const store = new MailStore(p);
    const stored = store
      .list('inbox', { limit: 100 })
      .map((r) => r.subject)
      .sort();
    expect(stored).toEqual([...subjects].sort());
    expect(store.list('untrusted')).toEqual([]);
    expect(await upstream(account)).toEqual([]);
    const rows = p.db.read(
      (db) =>
        db.prepare('SELECT state, count(*) AS n FROM upstream_messages GROUP BY state').all() as {
          state: string;
          n: number;
        }[],
    );
    expect(rows).toEqual([{ state: 'done', n: N }]);
    console.log(rounds.join('\n'));
  }, 120_000);
});

// ── Test peers ──────────────────────────────────────────────────────────────────────────────

interface Proxy {
  port: number;
  /** Destroy every open connection (the link goes down). */
  dropAll(): void;
  /** Refuse (close at once) the next `n` connections. */
  refuse(n: number): void;
  refused(): number;
  close(): Promise<void>;
}

/** A TCP forwarder to 127.0.0.1:target that a test can cut. */
async function startProxy(target: number): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let toRefuse = 0;
  let refusedCount = 0;
  const srv: Server = createServer((downstream) => {
    if (toRefuse > 0) {
      toRefuse -= 1;
      refusedCount += 1;
      downstream.destroy();
      return;
    }
    const up = netConnect(target, '127.0.0.1');
    for (const s of [downstream, up]) {
      sockets.add(s);
      s.on('error', () => {
        downstream.destroy();
        up.destroy();
      });
      s.on('close', () => {
        sockets.delete(s);
        downstream.destroy();
        up.destroy();
      });
    }
    downstream.pipe(up);
    up.pipe(downstream);
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy port');
  return {
    port: address.port,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: (n) => {
      toRefuse = n;
    },
    refused: () => refusedCount,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        srv.close(() => ok());
      }),
  };
}

/** An IMAP greeting and CAPABILITY without STARTTLS; records every byte received. */
async function startPlaintextImap(): Promise<{
  port: number;
  received: () => string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let received = '';
  let connections = 0;
  const sockets = new Set<Socket>();
  const srv = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN] plaintext only\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      buffer += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const [tag, command = ''] = line.split(' ');
        if (command.toUpperCase() === 'CAPABILITY') {
          socket.write(`* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n${tag} OK done\r\n`);
        } else if (command.toUpperCase() === 'LOGOUT') {
          socket.end(`* BYE\r\n${tag} OK bye\r\n`);
        } else {
          socket.write(`${tag} OK done\r\n`);
        }
      }
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    received: () => received,
    connections: () => connections,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        srv.close(() => ok());
      }),
  };
}
