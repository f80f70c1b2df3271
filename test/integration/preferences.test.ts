/**
 * Settings › Mail server and preferences through the built command (`sealpost serve` as a
 * child process, its bridge as the mail window calls it): the `getPreferences` and
 * `updatePreferences` calls, typed-account connection tests, the configuration file's and the
 * organisation's policy's precedence, and what is kept on disk.
 *
 * Real parts: an smtp-server smart host with STARTTLS and AUTH whose certificate comes from the
 * test anchor (trusted through NODE_EXTRA_CA_CERTS, as a lab would), our DNS responder for
 * the recipient's certificate, and the profile's SQLCipher database.
 *
 * What must hold: a saved relay is used at once (a message sent next reaches the smart host,
 * logged in with the saved password); the password is never in an answer, the audit log or
 * any file of the profile; it is not sent to a different server or account; the file's groups
 * and the organisation's locked groups are refused with SETTING_IN_CONFIG_FILE and
 * SETTING_MANAGED, while what the policy leaves open (the account name, the password) is the
 * user's; the policy's anchors are imported and trust changes are refused when locked; a
 * policy file that is not right stops serve with the key named.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, ConnectionTest, Preferences } from '../../hisp/api/index.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { freePort, LOOPBACK } from '../services/ports.js';
import {
  bridgeCall,
  bridgeError,
  bridgeResult,
  createPracticePki,
  initPracticeProfiles,
  openMailWindow,
  pollUntil,
  startLoopbackDns,
  TWO_PRACTICES,
  type PkiFiles,
} from '../services/practices.js';
import {
  killServeProcesses,
  requireBuiltCli,
  spawnServe,
  type ServeProcess,
} from '../services/serveProcess.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';
import { createTestCa } from '../services/certs.js';

const PASS = 'preferences test passphrase';
const RELAY_USER = 'clinic-relay';
const RELAY_PASS = `relay-${randomBytes(8).toString('hex')}`;
const WRONG_PASS = `wrong-${randomBytes(8).toString('hex')}`;
const IMAP_PASS = `imap-${randomBytes(8).toString('hex')}`;
const [A, B] = TWO_PRACTICES;

let tmp: TempDir;
let dns: DnsResponder;
let files: PkiFiles;
let smarthost: { port: number; auths: string[]; mailFrom: string[]; stop(): Promise<void> };

interface StatusResult {
  components: { name: string; state: string; detail?: string }[];
}

const profileDir = (name: string) => join(tmp.path, name);

async function startSmarthost(): Promise<typeof smarthost> {
  const auths: string[] = [];
  const mailFrom: string[] = [];
  const server = new SMTPServer({
    key: await readFile(files.tlsKey),
    cert: await readFile(files.tlsCert),
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, callback) {
      if (auth.username === RELAY_USER && auth.password === RELAY_PASS) {
        auths.push(auth.username ?? '');
        callback(null, { user: RELAY_USER });
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      }
    },
    onMailFrom(address, _session, callback) {
      mailFrom.push(address.address);
      callback();
    },
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => callback());
    },
  });
  const port = await freePort();
  await new Promise<void>((resolveListen) => server.listen(port, LOOPBACK, resolveListen));
  return {
    port,
    auths,
    mailFrom,
    stop: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

async function serve(dir: string, args: readonly string[] = []): Promise<ServeProcess> {
  return spawnServe(dir, ['--pass', 'env:PASS', '--dns', `${LOOPBACK}:${dns.port}`, ...args], {
    PASS,
    NODE_EXTRA_CA_CERTS: files.anchor,
  });
}

/** The test smart host as a relay setting, logged in to as RELAY_USER. */
const savedRelay = () =>
  ({
    kind: 'smarthost',
    host: 'localhost',
    port: smarthost.port,
    secure: 'starttls',
    user: RELAY_USER,
  }) as const;

const preferencesOf = (served: ServeProcess) =>
  bridgeResult<Preferences>(served, 'getPreferences', {});
const componentOf = async (served: ServeProcess, name: string) =>
  (await bridgeResult<StatusResult>(served, 'status', {})).components.find((c) => c.name === name);

beforeAll(async () => {
  requireBuiltCli();
  tmp = await makeTempDir('preferences');
  const pki = await createPracticePki(tmp.path, {
    anchorName: 'Preferences Test Anchor',
    practices: TWO_PRACTICES,
    tls: { commonName: 'localhost', dnsNames: ['localhost'] },
  });
  files = pki.files;
  dns = await startLoopbackDns(
    pki.practices.map((practice) => ({ domain: practice.domain, certificates: [practice.cert] })),
  );
  await initPracticeProfiles(tmp.path, pki, PASS);
  smarthost = await startSmarthost();
}, 60_000);

afterAll(async () => {
  killServeProcesses();
  await smarthost?.stop();
  await dns?.close();
  await tmp?.remove();
});

describe('preferences saved in the profile (serve without --config)', () => {
  it('a relay set in Settings is tested as typed, saved, used at once and kept across a restart; its password is never shown, audited or readable on disk', async () => {
    const dir = profileDir(A.name);
    const relay = savedRelay();
    let served = await serve(dir);
    try {
      const first = await preferencesOf(served);
      expect(first).toMatchObject({
        relay: { value: { kind: 'none' }, source: 'profile' },
        upstream: { value: { kind: 'none' }, source: 'profile' },
        delivery: {
          value: { timeoutHours: 1, requestDispatched: true, silenceAlertHours: 0 },
          source: 'profile',
        },
        autoLock: { value: 0, source: 'profile' },
        managed: [],
        autoUpdate: true,
        dataLocation: dir,
      });
      expect(first.configFile).toBeUndefined();
      expect((await componentOf(served, 'relay'))?.state).toBe('off');

      // An account name with no password, typed or saved, is refused and nothing is saved.
      const missing = await bridgeError(served, 'updatePreferences', { relay });
      expect(missing.code).toBe('SETTING_INVALID');
      expect(missing.message).toContain('needs its password');
      expect((await preferencesOf(served)).relay.value.kind).toBe('none');

      // Tested as typed, before saving: wrong password, then the right one.
      const wrong = await bridgeResult<ConnectionTest>(served, 'testConnection', {
        target: 'relay',
        relay,
        password: WRONG_PASS,
      });
      expect(wrong).toMatchObject({ ok: false, reason: { code: 'RELAY_AUTH_FAILED' } });
      const right = await bridgeResult<ConnectionTest>(served, 'testConnection', {
        target: 'relay',
        relay,
        password: RELAY_PASS,
      });
      expect(right.ok).toBe(true);
      expect(right.steps.map((step) => step.step)).toEqual(['connect', 'tls', 'auth']);
      expect(smarthost.mailFrom).toEqual([]);

      const answer = await bridgeCall(served, 'updatePreferences', {
        relay,
        passwords: { relay: RELAY_PASS },
        delivery: { timeoutHours: 2, requestDispatched: false, silenceAlertHours: 12 },
        autoLockMinutes: 30,
      });
      expect(answer.ok).toBe(true);
      expect(JSON.stringify(answer)).not.toContain(RELAY_PASS);
      expect(answer.result).toMatchObject({
        relay: { value: { ...relay, passwordSet: true }, source: 'profile' },
        delivery: { value: { timeoutHours: 2, requestDispatched: false, silenceAlertHours: 12 } },
        autoLock: { value: 30 },
      });

      // Used at once: the status names the smart host, the idle lock and the silence alert…
      expect((await componentOf(served, 'relay'))?.detail).toContain(
        `smarthost localhost:${smarthost.port}`,
      );
      expect((await componentOf(served, 'profile'))?.detail).toContain('locks after 30 min idle');
      expect((await componentOf(served, 'traffic'))?.detail).toContain('12 h');
      // …and a message goes through it, logged in with the saved password.
      await bridgeResult(served, 'sendMessage', {
        from: A.address,
        to: [B.address],
        subject: 'Through the relay saved in Settings',
        text: 'Referral letter.',
      });
      await pollUntil(
        'the smart host to get the message',
        () => (smarthost.mailFrom.length > 0 ? true : undefined),
        () => served.err().slice(-3000),
        15_000,
      );
      expect(smarthost.auths).toContain(RELAY_USER);
      expect(smarthost.mailFrom).toContain(A.address);

      // Another server with no password typed: refused, the saved one is not sent there.
      const moved = await bridgeError(served, 'updatePreferences', {
        relay: { ...relay, port: smarthost.port + 1 },
      });
      expect(moved.code).toBe('SETTING_INVALID');
      expect(moved.message).toContain('never sent to a different server');
      // Tested as typed at another port, no password typed: no saved password goes with it.
      const elsewhere = await bridgeResult<ConnectionTest>(served, 'testConnection', {
        target: 'relay',
        relay: { ...relay, host: '127.0.0.1' },
      });
      expect(elsewhere.ok).toBe(false);

      // Audited, never the password.
      const audit = await bridgeResult<{ entries: { action: string; detail?: unknown }[] }>(
        served,
        'auditLog',
        { action: 'settings-change' },
      );
      expect(audit.entries).toHaveLength(1);
      expect(JSON.stringify(audit.entries[0]?.detail)).toContain('relay');
      expect(JSON.stringify(audit)).not.toContain(RELAY_PASS);
      expect(served.err()).not.toContain(RELAY_PASS);
    } finally {
      expect(await served.stop()).toBe(0);
    }

    // Nothing readable on disk: no file of the profile holds the password.
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(RELAY_PASS)), name).toBe(false);
    }

    served = await serve(dir);
    try {
      const again = await preferencesOf(served);
      expect(again.relay).toMatchObject({ value: { ...relay, passwordSet: true } });
      expect(again.autoLock.value).toBe(30);
      expect((await componentOf(served, 'relay'))?.detail).toContain(
        `smarthost localhost:${smarthost.port}`,
      );
      // Back to no relay: the password goes with the account.
      await bridgeResult(served, 'updatePreferences', { relay: { kind: 'none' } });
      expect((await componentOf(served, 'relay'))?.state).toBe('off');
    } finally {
      await served.stop();
    }
  }, 90_000);
});

describe('the relay alert', () => {
  it('a smart host that refuses the saved login raises the relay alert in the mail window; saving the right password clears it and the message goes', async () => {
    const dir = profileDir(A.name);
    const served = await serve(dir);
    try {
      const window = await openMailWindow(served);
      const alerts: Alert[] = [];
      window.on('alert', (alert) => alerts.push(alert));
      const relay = savedRelay();
      await bridgeResult(served, 'updatePreferences', {
        relay,
        passwords: { relay: WRONG_PASS },
      });
      const before = smarthost.mailFrom.length;
      await bridgeResult(served, 'sendMessage', {
        from: A.address,
        to: [B.address],
        subject: 'Waits for the right password',
        text: 'Lab order.',
      });
      const alert = await pollUntil(
        'the relay alert',
        () => alerts.find((entry) => entry.kind === 'relay'),
        () => served.err().slice(-3000),
        15_000,
      );
      expect(alert.message).toContain(`localhost:${smarthost.port}`);
      expect(alert.message).toContain('refuses');
      expect(alert.message).not.toContain(WRONG_PASS);
      expect(smarthost.mailFrom.length).toBe(before);

      // The right password: the alert no longer holds (a window opened now is not told),
      // and the waiting message goes.
      await bridgeResult(served, 'updatePreferences', { passwords: { relay: RELAY_PASS } });
      const laterAlerts: Alert[] = [];
      const later = await openMailWindow(served, (client) =>
        client.on('alert', (entry) => laterAlerts.push(entry)),
      );
      await bridgeResult(served, 'sendMessage', {
        from: A.address,
        to: [B.address],
        subject: 'Nudge the queue',
        text: 'Second.',
      });
      await pollUntil(
        'both messages to reach the smart host',
        () => (smarthost.mailFrom.length >= before + 2 ? true : undefined),
        () => served.err().slice(-3000),
        30_000,
      );
      expect(laterAlerts.filter((entry) => entry.kind === 'relay')).toEqual([]);
      window.close();
      later.close();
      await bridgeResult(served, 'updatePreferences', { relay: { kind: 'none' } });
    } finally {
      await served.stop();
    }
  }, 60_000);
});

describe('the configuration file and the organisation’s policy', () => {
  it('file groups are SETTING_IN_CONFIG_FILE; locked groups are SETTING_MANAGED except what the policy leaves open; policy anchors are imported and anchor changes refused', async () => {
    const dir = profileDir(B.name);
    const extra = await createTestCa(tmp.path, {
      name: 'policy-ca',
      commonName: 'Policy Preset Anchor',
    });
    const imapPort = await freePort();
    const configFile = join(tmp.path, 'b-config.json');
    await writeFile(
      configFile,
      JSON.stringify({ relay: { mx: { exceptions: ['legacy.example'] } }, silenceAlertHours: 48 }),
    );
    const policyFile = join(tmp.path, 'policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({
        version: 1,
        upstream: { host: 'localhost', port: imapPort, secure: 'implicit', mailbox: 'Direct' },
        autoLockMinutes: 7,
        trust: { anchors: [{ certificates: extra.certPem.toString() }] },
        lockedSettings: ['upstream', 'autoLock', 'trustAnchors'],
      }),
    );
    const served = await serve(dir, ['--config', configFile, '--policy', policyFile]);
    try {
      const view = await preferencesOf(served);
      expect(view).toMatchObject({
        relay: { value: { kind: 'mx', exceptions: ['legacy.example'] }, source: 'config' },
        delivery: { value: { silenceAlertHours: 48, timeoutHours: 1 }, source: 'config' },
        upstream: {
          value: { kind: 'imap', host: 'localhost', port: imapPort, user: '', passwordSet: false },
          source: 'organisation',
          managedFields: ['kind', 'host', 'port', 'secure', 'mailbox'],
        },
        autoLock: { value: 7, source: 'organisation' },
        configFile,
        policyFile,
        managed: ['upstream', 'autoLock', 'trustAnchors'],
      });
      expect((await componentOf(served, 'profile'))?.detail).toContain('locks after 7 min idle');

      const fileRelay = await bridgeError(served, 'updatePreferences', { relay: { kind: 'none' } });
      expect(fileRelay.code).toBe('SETTING_IN_CONFIG_FILE');
      expect(fileRelay.message).toContain(configFile);
      expect((await bridgeError(served, 'updatePreferences', { autoLockMinutes: 60 })).code).toBe(
        'SETTING_MANAGED',
      );

      const upstream = {
        kind: 'imap',
        host: 'localhost',
        port: imapPort,
        secure: 'implicit',
        user: 'frontdesk',
        mailbox: 'Direct',
        afterStore: 'keep',
      } as const;
      const otherHost = await bridgeError(served, 'updatePreferences', {
        upstream: { ...upstream, host: 'imap.elsewhere.example' },
        passwords: { upstream: IMAP_PASS },
      });
      expect(otherHost.code).toBe('SETTING_MANAGED');
      expect(otherHost.message).toContain('host');
      // The account name and password are the user's to fill in.
      const filled = await bridgeResult<Preferences>(served, 'updatePreferences', {
        upstream,
        passwords: { upstream: IMAP_PASS },
      });
      expect(filled.upstream).toMatchObject({
        value: { ...upstream, passwordSet: true },
        source: 'organisation',
      });
      expect(JSON.stringify(filled)).not.toContain(IMAP_PASS);

      // The policy's anchor was imported; anchor changes are refused while it is locked.
      const anchors = await bridgeResult<{ anchors: { subject: string }[] }>(
        served,
        'listAnchors',
        {},
      );
      expect(anchors.anchors.map((anchor) => anchor.subject).join('\n')).toContain(
        'Policy Preset Anchor',
      );
      const refused = await bridgeError(served, 'importAnchors', {
        certificates: extra.certPem.toString(),
      });
      expect(refused.code).toBe('SETTING_MANAGED');
      expect(refused.message).toContain(policyFile);
    } finally {
      expect(await served.stop()).toBe(0);
    }
  }, 60_000);

  it('a policy file with an unknown key stops serve with the key named', async () => {
    const policyFile = join(tmp.path, 'bad-policy.json');
    await writeFile(policyFile, JSON.stringify({ version: 1, relayPassword: 'x' }));
    const failure = await serve(profileDir(B.name), ['--policy', policyFile]).then(
      () => undefined,
      (error: unknown) => error as Error & { exitCode?: number | null; log?: string },
    );
    expect(failure).toBeDefined();
    expect(failure?.exitCode).not.toBe(0);
    expect(failure?.message).toContain('relayPassword');
  }, 30_000);
});
