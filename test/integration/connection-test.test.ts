/**
 * "Test connection" (hisp/host/connectionTest.ts, the `testConnection` call) against real
 * servers on 127.0.0.1 with ports chosen at run time: smtp-server smart hosts (STARTTLS +
 * AUTH, implicit TLS, one without STARTTLS) trusted through the relay's `ca`, a closed port,
 * and a real Dovecot for the upstream mailbox (STARTTLS and implicit TLS ports).
 *
 * What must hold: the steps say how far it got; failures carry the registry codes the relay
 * and the pull use (RELAY_AUTH_FAILED, RELAY_TLS_REQUIRED — risk-3: nothing in plaintext —,
 * RELAY_CONNECTION, UPSTREAM_AUTH_FAILED, UPSTREAM_TLS_REQUIRED); the smart host never sees a
 * MAIL FROM; and no password is in the answer or in any log line.
 */
import { randomBytes } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTestSchema, type ConnectionTest } from '../../hisp/api/index.js';
import type { ServeConfig } from '../../hisp/cli/serveConfig.js';
import type { RecipientService } from '../../hisp/certs/discovery/service.js';
import { startDemoPractices } from '../../hisp/demo/practices.js';
import { testConnection } from '../../hisp/host/connectionTest.js';
import { MailService } from '../../hisp/host/mailService.js';
import { createLogger, type Logger } from '../../hisp/log/logger.js';
import {
  createSelfSignedServerCert,
  freePort,
  LOOPBACK,
  makeTempDir,
  startDovecot,
  type DovecotHandle,
  type TempDir,
} from '../services/index.js';
import type { CertFiles } from '../services/certs.js';
import { hispErrorCode } from '../services/hispErrors.js';
import { openMailWindow } from '../services/practices.js';

const USER = 'relay-user';
const PASS = `relay-pass-${randomBytes(6).toString('hex')}`;
const WRONG = `wrong-pass-${randomBytes(6).toString('hex')}`;
const IMAP_PASS = `imap-pass-${randomBytes(6).toString('hex')}`;
const IMAP_WRONG = `imap-wrong-${randomBytes(6).toString('hex')}`;
const SECRETS = [PASS, WRONG, IMAP_PASS, IMAP_WRONG];

interface SmartHost {
  readonly port: number;
  readonly counts: { sessions: number; auth: number; mailFrom: number };
  stop(): Promise<void>;
}

let tmp: TempDir;
let cert: CertFiles;
let dovecot: DovecotHandle;
const hosts: SmartHost[] = [];
const lines: string[] = [];
let logger: Logger;

async function startSmartHost(options: {
  secure?: boolean;
  noStartTls?: boolean;
}): Promise<SmartHost> {
  const counts = { sessions: 0, auth: 0, mailFrom: 0 };
  const server = new SMTPServer({
    secure: options.secure === true,
    key: cert.keyPem,
    cert: cert.certPem,
    hideSTARTTLS: options.noStartTls === true,
    disabledCommands: options.noStartTls === true ? ['STARTTLS'] : [],
    // Plaintext AUTH would be allowed here: the client must refuse to get that far.
    allowInsecureAuth: true,
    logger: false,
    onConnect(_session, callback) {
      counts.sessions += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      counts.auth += 1;
      if (auth.username === USER && auth.password === PASS) callback(null, { user: USER });
      else callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
    },
    onMailFrom(_address, _session, callback) {
      counts.mailFrom += 1;
      callback();
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const host: SmartHost = {
    port: address.port,
    counts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  hosts.push(host);
  return host;
}

function relay(
  port: number,
  options: { secure?: 'starttls' | 'implicit'; pass?: string; trusted?: boolean } = {},
): Pick<ServeConfig, 'relay'> {
  return {
    relay: {
      kind: 'smarthost',
      host: LOOPBACK,
      port,
      secure: options.secure ?? 'starttls',
      ...(options.pass === undefined ? {} : { auth: { user: USER, pass: options.pass } }),
      ...(options.trusted === false ? {} : { ca: Buffer.from(cert.certPem) }),
    },
  };
}

function upstream(
  port: number,
  options: {
    secure?: 'starttls' | 'implicit';
    pass?: string;
    mailbox?: string;
    trusted?: boolean;
  } = {},
): Pick<ServeConfig, 'upstream'> {
  return {
    upstream: {
      host: LOOPBACK,
      port,
      secure: options.secure ?? 'starttls',
      user: dovecot.user,
      pass: options.pass ?? IMAP_PASS,
      ...(options.trusted === false ? {} : { ca: Buffer.from(dovecot.caPem) }),
      afterStore: 'keep',
      ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }),
    },
  };
}

/** No password anywhere: not in the answer, not in what was logged so far. */
function expectNoSecrets(result: ConnectionTest): void {
  const text = JSON.stringify(result) + lines.join('\n');
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

/** The steps as 'step:ok', once the answer is checked against the contract (as the channel does). */
const stepsOf = (result: ConnectionTest): string[] =>
  ConnectionTestSchema.parse(result).steps.map((s) => `${s.step}:${s.ok}`);

beforeAll(async () => {
  tmp = await makeTempDir('connection-test');
  cert = await createSelfSignedServerCert(tmp.path, { name: 'smarthost' });
  dovecot = await startDovecot({ user: 'practice@example.test', password: IMAP_PASS });
  // A raw logger with no secrets registered: the code must not log them in the first place.
  logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
}, 60_000);

afterAll(async () => {
  for (const host of hosts) await host.stop();
  await dovecot?.stop();
  await tmp?.remove();
});

describe('relay smart host', () => {
  it('STARTTLS + AUTH with the right password: every step ok, and no MAIL FROM is sent', async () => {
    const host = await startSmartHost({});
    const result = await testConnection(relay(host.port, { pass: PASS }), 'relay', { logger });
    expect(result).toMatchObject({ ok: true, target: 'relay', server: `${LOOPBACK}:${host.port}` });
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true', 'auth:true']);
    expect(result.reason).toBeUndefined();
    expect(host.counts).toEqual({ sessions: 1, auth: 1, mailFrom: 0 });
    expectNoSecrets(result);
  });

  it('a wrong password is RELAY_AUTH_FAILED at the auth step, still without MAIL FROM', async () => {
    const host = await startSmartHost({});
    const result = await testConnection(relay(host.port, { pass: WRONG }), 'relay', { logger });
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true', 'auth:false']);
    expect(result.reason?.code).toBe('RELAY_AUTH_FAILED');
    expect(result.reason?.message).toMatch(/535|Authentication failed/);
    expect(host.counts).toMatchObject({ auth: 1, mailFrom: 0 });
    expectNoSecrets(result);
  });

  it('risk-3: a server without STARTTLS is RELAY_TLS_REQUIRED, and no credential is sent', async () => {
    const host = await startSmartHost({ noStartTls: true });
    const result = await testConnection(relay(host.port, { pass: PASS }), 'relay', { logger });
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:false']);
    expect(result.reason?.code).toBe('RELAY_TLS_REQUIRED');
    expect(result.reason?.message).toMatch(/STARTTLS/);
    expect(host.counts).toMatchObject({ sessions: 1, auth: 0, mailFrom: 0 });
    expectNoSecrets(result);
  });

  it('risk-3: a certificate the relay does not trust is RELAY_TLS_REQUIRED', async () => {
    const host = await startSmartHost({});
    const result = await testConnection(relay(host.port, { pass: PASS, trusted: false }), 'relay', {
      logger,
    });
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:false']);
    expect(result.reason?.code).toBe('RELAY_TLS_REQUIRED');
    expect(host.counts).toMatchObject({ auth: 0, mailFrom: 0 });
    expectNoSecrets(result);
  });

  it('implicit TLS without an account: connect and TLS ok, no auth step', async () => {
    const host = await startSmartHost({ secure: true });
    const result = await testConnection(relay(host.port, { secure: 'implicit' }), 'relay', {
      logger,
    });
    expect(result.ok).toBe(true);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true']);
    expect(result.steps[1]?.detail).toMatch(/implicit TLS/);
    expect(host.counts).toMatchObject({ sessions: 1, auth: 0, mailFrom: 0 });
  });

  it('a closed port is RELAY_CONNECTION at the connect step', async () => {
    const port = await freePort();
    const result = await testConnection(relay(port, { pass: PASS }), 'relay', { logger });
    expect(result).toMatchObject({ ok: false, server: `${LOOPBACK}:${port}` });
    expect(stepsOf(result)).toEqual(['connect:false']);
    expect(result.reason?.code).toBe('RELAY_CONNECTION');
    expect(result.reason?.message).toContain(LOOPBACK);
    expectNoSecrets(result);
  });

  it('no relay, or relay "mx": nothing to test, said plainly', async () => {
    const none = await testConnection({}, 'relay', { logger });
    expect(none).toMatchObject({ ok: false, target: 'relay', steps: [] });
    expect(none.server).toBeUndefined();
    expect(none.reason?.code).toBe('MAIL_NOT_CONFIGURED');
    expect(none.reason?.message).toMatch(/No relay is configured/);
    const mx = await testConnection({ relay: { kind: 'mx', exceptions: [] } }, 'relay', {
      logger,
    });
    expect(mx).toMatchObject({ ok: false, steps: [] });
    expect(mx.reason?.code).toBe('MAIL_NOT_CONFIGURED');
    expect(mx.reason?.message).toMatch(/no single server to test/);
  });
});

describe('upstream mailbox (Dovecot)', () => {
  it('STARTTLS with the right password: connect, TLS, login and the mailbox (read-only) ok', async () => {
    const result = await testConnection(upstream(dovecot.imapPort), 'upstream', { logger });
    expect(result).toMatchObject({
      ok: true,
      target: 'upstream',
      server: `${LOOPBACK}:${dovecot.imapPort}`,
    });
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true', 'auth:true', 'mailbox:true']);
    expect(result.steps[3]?.detail).toMatch(/INBOX opened read-only/);
    expectNoSecrets(result);
  });

  it('implicit TLS with the right password is ok too', async () => {
    const result = await testConnection(
      upstream(dovecot.imapsPort, { secure: 'implicit' }),
      'upstream',
      { logger },
    );
    expect(result.ok).toBe(true);
    expect(result.steps[1]?.detail).toMatch(/implicit TLS/);
  });

  it('a wrong password is UPSTREAM_AUTH_FAILED at the auth step', async () => {
    const result = await testConnection(
      upstream(dovecot.imapPort, { pass: IMAP_WRONG }),
      'upstream',
      { logger },
    );
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true', 'auth:false']);
    expect(result.reason?.code).toBe('UPSTREAM_AUTH_FAILED');
    expectNoSecrets(result);
  });

  it('risk-3: a server certificate that is not trusted is UPSTREAM_TLS_REQUIRED, before LOGIN', async () => {
    const result = await testConnection(
      upstream(dovecot.imapPort, { trusted: false }),
      'upstream',
      { logger },
    );
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:false']);
    expect(result.reason?.code).toBe('UPSTREAM_TLS_REQUIRED');
    expectNoSecrets(result);
  });

  it('STARTTLS to the implicit-TLS port (no IMAP greeting in plaintext) fails before any login', async () => {
    const result = await testConnection(upstream(dovecot.imapsPort), 'upstream', {
      logger,
      timeoutMs: 2000,
    });
    expect(result.ok).toBe(false);
    expect(result.steps.some((s) => s.step === 'auth' && s.ok)).toBe(false);
    expect(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_TLS_REQUIRED']).toContain(result.reason?.code);
    expectNoSecrets(result);
  });

  it('a mailbox that does not exist fails at the mailbox step', async () => {
    const result = await testConnection(
      upstream(dovecot.imapPort, { mailbox: 'NoSuchFolder' }),
      'upstream',
      { logger },
    );
    expect(result.ok).toBe(false);
    expect(stepsOf(result)).toEqual(['connect:true', 'tls:true', 'auth:true', 'mailbox:false']);
    expect(result.reason?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(result.reason?.message).toMatch(/NoSuchFolder/);
  });

  it('a closed port is UPSTREAM_UNAVAILABLE at the connect step', async () => {
    const port = await freePort();
    const result = await testConnection(upstream(port), 'upstream', { logger });
    expect(stepsOf(result)).toEqual(['connect:false']);
    expect(result.reason?.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});

describe('through the contract (the demo: practice A relays through B over STARTTLS)', () => {
  it('testConnection on practice A: the relay is ok, the upstream is not configured', async () => {
    const dir = await makeTempDir('connection-test-demo');
    const demo = await startDemoPractices({
      dir: dir.path,
      root: dir.path,
      logger: createLogger({ level: 'info', sink: (line) => lines.push(line) }),
      throwaway: true,
    });
    const client = await openMailWindow(demo.practices[0].running);
    try {
      const relayed = await client.call('testConnection', { target: 'relay' });
      expect(relayed).toMatchObject({
        ok: true,
        target: 'relay',
        server: `localhost:${demo.practices[1].smtpPort}`,
      });
      expect(stepsOf(relayed)).toEqual(['connect:true', 'tls:true']);
      const pulled = await client.call('testConnection', { target: 'upstream' });
      expect(pulled).toMatchObject({ ok: false, target: 'upstream', steps: [] });
      expect(pulled.reason?.code).toBe('MAIL_NOT_CONFIGURED');
      expect(pulled.reason?.message).toMatch(/No upstream mailbox is configured/);
    } finally {
      client.close();
      await demo.stop();
      await dir.remove();
    }
  }, 60_000);
});

describe('MailService.testConnection', () => {
  it('is PROFILE_LOCKED while the mail service is not running (the profile is locked)', async () => {
    const mail = new MailService({
      config: { ...relay(1, { pass: PASS }), ...upstream(dovecot.imapPort) },
      // Not reached: the call is refused before anything runs.
      recipients: {} as RecipientService,
      dnsServers: [],
      logger,
    });
    expect(await hispErrorCode(mail.testConnection('relay'))).toBe('PROFILE_LOCKED');
    expect(await hispErrorCode(mail.testConnection('upstream'))).toBe('PROFILE_LOCKED');
  });

  it('no test so far has logged a password', () => {
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    for (const secret of SECRETS) expect(all).not.toContain(secret);
  });
});
