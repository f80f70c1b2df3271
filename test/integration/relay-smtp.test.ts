/**
 * The outbound relay (hisp/relay/smtpClient.ts, hisp/relay/relayWorker.ts) against real
 * smtp-server instances on 127.0.0.1 (random ports, a test TLS certificate the client trusts
 * through the target's tls.ca), draining the real encrypted queue of a vault profile
 * (MailStore): Direct messages made by the outbound agent from the java-ri interop identities.
 *
 * risk-3: a server that offers no STARTTLS, or whose certificate is not trusted, is refused
 * before MAIL FROM (the server's onMailFrom/onData never run); only a per-domain exception
 * allows plaintext. Faults (dropped mid-DATA, 421, 451, 550) give retry with backoff or a
 * per-recipient permanent failure; the worker's concurrency bound and crash recovery are
 * checked on the server side. MX: a real knot DNS server serves the MX and A records and a
 * node:dns Resolver is pointed at it; MX records carry no port, so the target's `port` is
 * the test server's.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { deliver, type RelayTarget } from '../../hisp/relay/smtpClient.js';
import { RelayWorker, type RelayWorkerOptions } from '../../hisp/relay/relayWorker.js';
import type { OpenFn, VerificationReason } from '../../hisp/store/mail.js';
import { GREG, greg, riOpener, RYAN, ryan } from '../unit/interop-identities.js';
import { MailStore } from '../../hisp/store/mail.js';
import { initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';
import { createSelfSignedServerCert, startKnot, type KnotHandle } from '../services/index.js';
import type { CertFiles } from '../services/certs.js';

const signedAt = new Date('2026-11-01T00:00:00Z');
const OTHER = 'other@securehealthemail.com';
const ryanCert = ryan.certDer;
const ryanOpens: OpenFn = riOpener([ryan], { at: signedAt });
const USER = 'relay-user';
const PASS = 'relay-pass-123';

interface Received {
  readonly from: string;
  readonly to: string[];
  readonly data: Buffer;
  readonly servername: string | undefined;
}

interface ServerOptions {
  secure?: boolean;
  noStartTls?: boolean;
  auth?: boolean;
  cert?: CertFiles;
  onMailFrom?: (session: SMTPServerSession) => Error | undefined;
  onRcptTo?: (address: string) => Error | undefined;
  /** Called with the whole message; may return an error reply or hold the reply. */
  onMessage?: (data: Buffer, reply: (error?: Error) => void, sockets: Set<Socket>) => void;
  /** Called on the first DATA chunk (fault injection). */
  onFirstChunk?: (sockets: Set<Socket>) => void;
}

interface TestServer {
  readonly port: number;
  readonly received: Received[];
  readonly counts: { mailFrom: number; data: number; sessions: number };
  /** Sessions open at the server (connect until close), and the most seen at once. */
  readonly open: { now: number; max: number };
  /** Transactions in progress at the server (MAIL FROM until the reply to DATA), and the most seen. */
  readonly concurrent: { now: number; max: number };
  stop(): Promise<void>;
}

function reply(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

let root: string;
let serverCert: CertFiles;
let strangerCert: CertFiles;
let profile: Profile;
let store: MailStore;
let ryanProfile: Profile;
let ryanStore: MailStore;
let clock = new Date('2026-11-02T10:00:00Z');
const servers: TestServer[] = [];
const created: number[] = [];

async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const cert = options.cert ?? serverCert;
  const received: Received[] = [];
  const counts = { mailFrom: 0, data: 0, sessions: 0 };
  const concurrent = { now: 0, max: 0 };
  const open = { now: 0, max: 0 };
  const sockets = new Set<Socket>();
  const inTransaction = new Set<string>();
  const leave = (session: SMTPServerSession): void => {
    if (inTransaction.delete(session.id)) concurrent.now -= 1;
  };
  const server = new SMTPServer({
    secure: options.secure === true,
    ...(options.noStartTls === true ? {} : { key: cert.keyPem, cert: cert.certPem }),
    hideSTARTTLS: options.noStartTls === true,
    disabledCommands: [
      ...(options.noStartTls === true ? ['STARTTLS'] : []),
      ...(options.auth === true ? [] : ['AUTH']),
    ],
    authOptional: options.auth !== true,
    logger: false,
    onConnect(_session, callback) {
      counts.sessions += 1;
      open.now += 1;
      open.max = Math.max(open.max, open.now);
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASS) callback(null, { user: USER });
      else callback(reply(535, 'Authentication failed'));
    },
    onMailFrom(_address, session, callback) {
      counts.mailFrom += 1;
      const error = options.onMailFrom?.(session);
      if (error !== undefined) return callback(error);
      inTransaction.add(session.id);
      concurrent.now += 1;
      concurrent.max = Math.max(concurrent.max, concurrent.now);
      callback();
    },
    onRcptTo(address, _session, callback) {
      callback(options.onRcptTo?.(address.address) ?? undefined);
    },
    onData(stream, session, callback) {
      counts.data += 1;
      const chunks: Buffer[] = [];
      let first = true;
      stream.on('data', (chunk: Buffer) => {
        if (first) {
          first = false;
          options.onFirstChunk?.(sockets);
        }
        chunks.push(chunk);
      });
      stream.on('error', () => leave(session));
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        const done = (error?: Error): void => {
          leave(session);
          if (error === undefined) {
            received.push({
              from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
              data,
              servername: typeof session.servername === 'string' ? session.servername : undefined,
            });
          }
          callback(error ?? null);
        };
        if (options.onMessage !== undefined) options.onMessage(data, done, sockets);
        else done();
      });
    },
    onClose(session) {
      open.now -= 1;
      leave(session);
    },
  });
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('error', () => undefined);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const handle: TestServer = {
    port: address.port,
    received,
    counts,
    concurrent,
    open,
    stop: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
  servers.push(handle);
  return handle;
}

function smarthost(server: TestServer, extra: Partial<RelayTarget> = {}): RelayTarget {
  return {
    kind: 'smarthost',
    host: '127.0.0.1',
    port: server.port,
    secure: 'starttls',
    tls: { ca: [serverCert.certPem] },
    ...extra,
  } as RelayTarget;
}

/** A Direct message stored as sent and queued for `recipients`; returns its id and bytes. */
function queueMessage(recipients: readonly string[]): {
  id: number;
  raw: Buffer;
  messageId: string;
} {
  const messageId = `<${randomBytes(8).toString('hex')}@securehealthemail.com>`;
  const inner = Buffer.from(
    `From: Greg <${GREG}>\r\nTo: ${recipients.join(', ')}\r\nSubject: relay test\r\n` +
      `Date: Sun, 01 Nov 2026 00:00:00 +0000\r\nMessage-ID: ${messageId}\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\nHello from the relay tests.\r\n`,
  );
  const raw = collect(
    signAndEncrypt(inner, greg, [ryanCert], { now: signedAt, allowSha1CertificateSignatures: true })
      .message,
  );
  const { id } = store.storeSent({
    raw,
    inner,
    envelope: { from: GREG, to: [...recipients] },
    enqueue: recipients,
  });
  created.push(id);
  return { id, raw, messageId };
}

function worker(options: Partial<RelayWorkerOptions> & Pick<RelayWorkerOptions, 'target'>) {
  return new RelayWorker({
    store,
    now: () => clock,
    backoff: { baseMs: 60_000, maxMs: 3_600_000, maxAttempts: 5 },
    deliverOptions: { clientName: 'hisp.securehealthemail.com' },
    ...options,
  });
}

function row(id: number, recipient: string) {
  const found = store.queueFor(id).find((r) => r.recipient === recipient);
  if (found === undefined) throw new Error(`no queue row for ${recipient}`);
  return found;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-relay-'));
  serverCert = await createSelfSignedServerCert(root, {
    name: 'smtp',
    dnsNames: ['localhost', 'mx-a.example.test', 'mx-b.example.test', 'mx-c.example.test'],
  });
  strangerCert = await createSelfSignedServerCert(root, { name: 'stranger' });
  const dir = join(root, 'p');
  profile = await initProfile(dir, {
    keySource: vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from('relay tests'),
    }),
  });
  store = new MailStore(profile, { now: () => clock });
  const ryanDir = join(root, 'ryan');
  ryanProfile = await initProfile(ryanDir, {
    keySource: vaultMasterKeySource({
      file: join(ryanDir, VAULT_FILE),
      passphrase: Buffer.from('relay tests, receiving side'),
    }),
  });
  ryanStore = new MailStore(ryanProfile, { now: () => clock });
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const id of created.splice(0)) store.delete(id);
});

afterAll(async () => {
  profile?.close();
  ryanProfile?.close();
  await rm(root, { recursive: true, force: true });
});

describe('smarthost', () => {
  it('relays over STARTTLS with AUTH, byte for byte, and marks the row relayed', async () => {
    const server = await startServer({ auth: true });
    const { id, raw, messageId } = queueMessage([RYAN]);
    const w = worker({
      target: () => smarthost(server, { auth: { user: USER, pass: PASS } }),
    });
    expect(await w.runOnce()).toBe(1);
    expect(server.received).toHaveLength(1);
    const got = server.received[0];
    expect(got?.from).toBe(GREG);
    expect(got?.to).toEqual([RYAN]);
    expect(got?.data.equals(raw)).toBe(true);
    expect(got?.data.toString('latin1')).toContain(`Message-ID: ${messageId}`);
    expect(row(id, RYAN)).toMatchObject({ state: 'relayed', attempts: 1 });
    expect(store.get(id).folder).toBe('sent');
    // Relayed rows are never handed to SMTP again.
    expect(await w.runOnce()).toBe(0);
    expect(server.received).toHaveLength(1);
  });

  it('refuses wrong credentials as a temporary failure (configuration, not the message)', async () => {
    const server = await startServer({ auth: true });
    const [outcome] = await deliver(
      Buffer.from('Subject: x\r\n\r\nx\r\n'),
      { from: GREG, to: [RYAN] },
      smarthost(server, { auth: { user: USER, pass: 'wrong' } }),
    );
    expect(outcome).toMatchObject({ outcome: 'temporary', reason: 'RELAY_AUTH_FAILED' });
    expect(server.counts.mailFrom).toBe(0);
  });

  it('relays over implicit TLS', async () => {
    const server = await startServer({ secure: true });
    const { id, raw } = queueMessage([RYAN]);
    const w = worker({ target: () => smarthost(server, { secure: 'implicit' }) });
    expect(await w.runOnce()).toBe(1);
    expect(server.received[0]?.data.equals(raw)).toBe(true);
    expect(row(id, RYAN).state).toBe('relayed');
  });

  it('risk-3: a server that offers no STARTTLS is refused and nothing is transmitted', async () => {
    const server = await startServer({ noStartTls: true });
    const { id } = queueMessage([RYAN]);
    const w = worker({ target: () => smarthost(server) });
    expect(await w.runOnce()).toBe(1);
    expect(server.counts.sessions).toBe(1);
    expect(server.counts.mailFrom).toBe(0);
    expect(server.counts.data).toBe(0);
    expect(server.received).toHaveLength(0);
    const r = row(id, RYAN);
    expect(r.state).toBe('queued');
    expect(r.lastError?.code).toBe('RELAY_TLS_REQUIRED');
    expect(r.lastError?.message).toMatch(/does not offer STARTTLS.*not sent in plaintext/);
  });

  it('risk-3: a server whose certificate is not trusted is refused before MAIL FROM', async () => {
    const server = await startServer();
    const outcomes = await deliver(
      Buffer.from('Subject: x\r\n\r\nx\r\n'),
      { from: GREG, to: [RYAN] },
      smarthost(server, { tls: { ca: [strangerCert.certPem] } }),
    );
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'temporary', reason: 'RELAY_TLS_REQUIRED' }),
    ]);
    expect(outcomes[0]?.response).toMatch(/TLS with 127\.0\.0\.1 failed/);
    expect(server.counts.mailFrom).toBe(0);
    expect(server.counts.data).toBe(0);
  });
});

describe('faults', () => {
  it('connection dropped mid-DATA: temporary, retried later, then relayed', async () => {
    let drop = true;
    const server = await startServer({
      onFirstChunk: (sockets) => {
        if (!drop) return;
        drop = false;
        for (const s of sockets) s.destroy();
      },
    });
    const { id, raw } = queueMessage([RYAN]);
    const w = worker({ target: () => smarthost(server) });
    expect(await w.runOnce()).toBe(1);
    let r = row(id, RYAN);
    expect(r).toMatchObject({ state: 'queued', attempts: 1 });
    expect(r.lastError?.code).toBe('RELAY_CONNECTION');
    expect(r.nextAttemptAt).toBe(new Date(clock.getTime() + 60_000).toISOString());
    expect(server.received).toHaveLength(0);
    // Not due yet.
    expect(await w.runOnce()).toBe(0);
    clock = new Date(clock.getTime() + 60_000);
    expect(await w.runOnce()).toBe(1);
    r = row(id, RYAN);
    expect(r).toMatchObject({ state: 'relayed', attempts: 2 });
    expect(server.received.map((m) => m.data.equals(raw))).toEqual([true]);
  });

  it('421 and 451: temporary with exponential backoff (retryAt, queued, attempts+1)', async () => {
    let step = 0;
    const server = await startServer({
      onMailFrom: () => (step === 0 ? reply(421, 'Service not available, try later') : undefined),
      onMessage: (_data, done) => done(reply(451, 'Local error, try later')),
    });
    const { id } = queueMessage([RYAN]);
    const w = worker({ target: () => smarthost(server) });
    const start = clock.getTime();

    expect(await w.runOnce()).toBe(1);
    let r = row(id, RYAN);
    expect(r).toMatchObject({ state: 'queued', attempts: 1 });
    expect(r.lastError).toMatchObject({ code: 'RELAY_DEFERRED' });
    expect(r.lastError?.message).toMatch(/^421 /);
    expect(r.nextAttemptAt).toBe(new Date(start + 60_000).toISOString());

    step = 1;
    clock = new Date(start + 60_000);
    expect(await w.runOnce()).toBe(1);
    r = row(id, RYAN);
    expect(r).toMatchObject({ state: 'queued', attempts: 2 });
    expect(r.lastError?.message).toMatch(/^451 /);
    // Doubled: 2 minutes after the second attempt.
    expect(r.nextAttemptAt).toBe(new Date(start + 60_000 + 120_000).toISOString());
    expect(server.counts.data).toBe(1);
    expect(server.received).toHaveLength(0);
  });

  it('550 for one recipient, 250 for another: per-recipient failed + relayed, with the notice', async () => {
    const server = await startServer({
      onRcptTo: (address) => (address === OTHER ? reply(550, 'No such user') : undefined),
    });
    const notices: { id: number; recipient: string; reason: VerificationReason }[] = [];
    const { id } = queueMessage([RYAN, OTHER]);
    const w = worker({
      target: () => smarthost(server),
      onFailed: (messageId, recipient, reason) =>
        notices.push({ id: messageId, recipient, reason }),
    });
    expect(await w.runOnce()).toBe(2);
    // One SMTP transaction for both recipients.
    expect(server.counts.mailFrom).toBe(1);
    expect(server.received.map((m) => m.to)).toEqual([[RYAN]]);
    expect(row(id, RYAN).state).toBe('relayed');
    const failed = row(id, OTHER);
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed.nextAttemptAt).toBeUndefined();
    expect(failed.lastError).toMatchObject({ code: 'RELAY_REJECTED' });
    expect(failed.lastError?.message).toMatch(/^550 /);
    expect(notices).toEqual([{ id, recipient: OTHER, reason: failed.lastError }]);
    // No row of the message is left queued or sending: it moved to Sent.
    expect(store.get(id).folder).toBe('sent');
  });

  it('gives up after maxAttempts: failed, with the notice', async () => {
    const server = await startServer({ onRcptTo: () => reply(451, 'Greylisted') });
    const notices: string[] = [];
    const { id } = queueMessage([RYAN]);
    const w = worker({
      target: () => smarthost(server),
      backoff: { baseMs: 1000, maxAttempts: 2 },
      onFailed: (messageId, recipient, reason) =>
        notices.push(`${messageId} ${recipient} ${reason.code}`),
    });
    expect(await w.runOnce()).toBe(1);
    expect(row(id, RYAN)).toMatchObject({ state: 'queued', attempts: 1 });
    expect(notices).toEqual([]);
    clock = new Date(clock.getTime() + 1000);
    expect(await w.runOnce()).toBe(1);
    const r = row(id, RYAN);
    expect(r).toMatchObject({ state: 'failed', attempts: 2 });
    expect(r.lastError?.message).toMatch(/^Gave up after 2 attempt\(s\): 451 /);
    expect(notices).toEqual([`${id} ${RYAN} RELAY_DEFERRED`]);
    expect(await w.runOnce()).toBe(0);
  });
});

describe('worker', () => {
  it('respects the concurrency bound (simultaneous transactions at the server)', async () => {
    const total = 5;
    const held: (() => void)[] = [];
    let released = 0;
    const server = await startServer({
      onMessage: (_data, done) => {
        // Hold each reply until 2 are waiting (or all that remain), so lanes overlap.
        held.push(() => done());
        if (held.length === 2 || held.length === total - released) {
          const batch = held.splice(0);
          released += batch.length;
          for (const release of batch) release();
        }
      },
    });
    const ids = Array.from({ length: total }, () => queueMessage([RYAN]).id);
    const w = worker({ target: () => smarthost(server), concurrency: 2 });
    expect(await w.runOnce()).toBe(total);
    expect(server.received).toHaveLength(total);
    expect(server.concurrent.max).toBe(2);
    // Sessions too: deliver() resolves only once its socket closed, which needs the server's
    // FIN after QUIT (and the client's FIN went out before that), so a lane's next session
    // starts after the server saw the previous one close.
    expect(server.open.max).toBe(2);
    expect(server.counts.sessions).toBe(total);
    for (const id of ids) expect(row(id, RYAN).state).toBe('relayed');
  });

  it('crash safety: rows left sending are requeued on start and sent exactly once', async () => {
    const server = await startServer();
    const crashed = queueMessage([RYAN]);
    const done = queueMessage([RYAN]);
    // A previous process: took one row and died mid-attempt; relayed the other.
    expect(store.markSending(row(crashed.id, RYAN).id)).toBe(true);
    expect(store.markSending(row(done.id, RYAN).id)).toBe(true);
    store.markRelayed(row(done.id, RYAN).id);
    expect(store.due()).toHaveLength(0);

    const w = worker({ target: () => smarthost(server) });
    w.start();
    await w.stop();
    expect(server.received).toHaveLength(1);
    expect(server.received[0]?.data.equals(crashed.raw)).toBe(true);
    expect(row(crashed.id, RYAN)).toMatchObject({ state: 'relayed', attempts: 2 });
    expect(row(done.id, RYAN)).toMatchObject({ state: 'relayed', attempts: 1 });
    // Another start finds nothing to requeue or send.
    const again = worker({ target: () => smarthost(server) });
    again.start();
    await again.stop();
    expect(await again.runOnce()).toBe(0);
    expect(server.received).toHaveLength(1);
  });

  it('the resend window: accepted but not yet marked relayed is resent with the same Message-ID, and the receiving HISP drops the copy', async () => {
    const server = await startServer();
    const { id, raw, messageId } = queueMessage([RYAN]);
    const queueId = row(id, RYAN).id;
    // A previous process claimed the row, the server accepted the DATA, and the process died
    // before markRelayed committed.
    expect(store.markSending(queueId)).toBe(true);
    const [first] = await deliver(raw, { from: GREG, to: [RYAN] }, smarthost(server));
    expect(first?.outcome).toBe('relayed');
    expect(row(id, RYAN).state).toBe('sending');

    const w = worker({ target: () => smarthost(server) });
    w.start();
    await w.stop();
    expect(row(id, RYAN)).toMatchObject({ state: 'relayed', attempts: 2 });
    expect(server.received).toHaveLength(2);
    for (const copy of server.received) {
      expect(copy.data.equals(raw)).toBe(true);
      expect(copy.data.toString('latin1')).toContain(`Message-ID: ${messageId}`);
    }
    // The receiving side (Sealpost's own mailbox here) stores the message once.
    const envelope = { from: GREG, to: [RYAN] };
    const a = await ryanStore.receive({ raw: server.received[0]!.data, envelope }, ryanOpens);
    const b = await ryanStore.receive({ raw: server.received[1]!.data, envelope }, ryanOpens);
    expect(a.duplicate).toBe(false);
    expect(ryanStore.get(a.id).folder).toBe('inbox');
    expect(b).toEqual({ id: a.id, duplicate: true });
    ryanStore.delete(a.id);
  });
});

describe('MX', () => {
  let knot: KnotHandle;
  const DOMAIN = 'direct.example.test';
  const TO = `ryan@${DOMAIN}`;

  beforeAll(async () => {
    knot = await startKnot({
      zone: 'example.test',
      records: [
        'direct IN MX 20 mx-c.example.test.',
        'direct IN MX 5 mx-a.example.test.',
        'direct IN MX 10 mx-b.example.test.',
        // Nothing listens on 127.0.0.2: the most preferred MX host refuses the connection.
        'mx-a IN A 127.0.0.2',
        'mx-b IN A 127.0.0.1',
        'mx-c IN A 127.0.0.1',
        'nullmx IN MX 0 .',
      ],
    });
  });

  afterAll(async () => {
    await knot?.stop();
  });

  const mxTarget = (server: TestServer, extra: { tlsRequired?: boolean } = {}): RelayTarget => ({
    kind: 'mx',
    domain: DOMAIN,
    port: server.port,
    tls: { ca: [serverCert.certPem] },
    ...extra,
  });
  const dns = () => ({ dnsServers: [`127.0.0.1:${knot.port}`], clientName: 'hisp.test' });

  it('delivers to the MX hosts in preference order, over verified STARTTLS', async () => {
    const server = await startServer();
    const raw = Buffer.from(`From: ${GREG}\r\nSubject: x\r\n\r\nbody\r\n`);
    const outcomes = await deliver(raw, { from: GREG, to: [TO] }, mxTarget(server), dns());
    expect(outcomes).toEqual([
      expect.objectContaining({ outcome: 'relayed', code: 250, host: 'mx-b.example.test' }),
    ]);
    // mx-a (preference 5) refused the connection; mx-b (10) took it; mx-c (20) was not needed.
    expect(server.counts.sessions).toBe(1);
    expect(server.received[0]?.servername).toBe('mx-b.example.test');
    expect(server.received[0]?.data.equals(raw)).toBe(true);
  });

  it('risk-3: an MX without STARTTLS is refused unless a per-domain exception allows plaintext', async () => {
    const server = await startServer({ noStartTls: true });
    const raw = Buffer.from(`From: ${GREG}\r\nSubject: x\r\n\r\nbody\r\n`);
    const refused = await deliver(raw, { from: GREG, to: [TO] }, mxTarget(server), dns());
    expect(refused).toEqual([
      expect.objectContaining({ outcome: 'temporary', reason: 'RELAY_TLS_REQUIRED' }),
    ]);
    // Both usable MX hosts were tried; neither saw MAIL FROM.
    expect(server.counts.sessions).toBe(2);
    expect(server.counts.mailFrom).toBe(0);
    const allowed = await deliver(
      raw,
      { from: GREG, to: [TO] },
      mxTarget(server, { tlsRequired: false }),
      dns(),
    );
    expect(allowed).toEqual([expect.objectContaining({ outcome: 'relayed' })]);
    expect(server.received).toHaveLength(1);
  });

  it('a null MX and a missing domain are permanent failures', async () => {
    const raw = Buffer.from('Subject: x\r\n\r\nx\r\n');
    const nullMx = await deliver(
      raw,
      { from: GREG, to: ['a@nullmx.example.test'] },
      { kind: 'mx', domain: 'nullmx.example.test', port: 9 },
      dns(),
    );
    expect(nullMx).toEqual([
      expect.objectContaining({ outcome: 'permanent', reason: 'RELAY_NO_ROUTE' }),
    ]);
    const missing = await deliver(
      raw,
      { from: GREG, to: ['a@missing.example.test'] },
      { kind: 'mx', domain: 'missing.example.test', port: 9 },
      dns(),
    );
    expect(missing).toEqual([
      expect.objectContaining({ outcome: 'permanent', reason: 'RELAY_NO_ROUTE' }),
    ]);
  });
});
