/** The `sealpost serve --config FILE` reader: hand-checked JSON, keys named in every error. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../hisp/cli/io.js';
import {
  DEFAULT_INBOUND_MAX_BYTES,
  loadServeConfig,
  parseServeConfig,
} from '../../hisp/cli/serveConfig.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealpost-serve-config-'));
  await writeFile(join(dir, 'cert.pem'), 'CERT');
  await writeFile(join(dir, 'key.pem'), 'KEY');
  await writeFile(join(dir, 'ca.pem'), 'CA');
  await writeFile(join(dir, 'imap.pass'), 'imap secret\n', { mode: 0o600 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FULL = {
  inbound: { listen: '0.0.0.0:25', tlsCert: 'cert.pem', tlsKey: 'key.pem' },
  relay: {
    smarthost: {
      host: 'smtp.example',
      port: 587,
      secure: 'starttls',
      user: 'clinic',
      pass: 'env:SMTP_PASS',
      ca: 'ca.pem',
    },
  },
  upstream: {
    host: 'imap.example',
    port: 993,
    secure: 'implicit',
    user: 'direct@clinic.example',
    pass: 'file:imap.pass',
    afterStore: 'move',
    moveTo: 'Sealpost',
  },
  submission: {
    listen: '127.0.0.1:1587',
    tlsCert: 'cert.pem',
    tlsKey: 'key.pem',
    user: 'mailclient',
    pass: 'env:SUBMIT_PASS',
  },
  dns: ['127.0.0.1:53', '[::1]:5353'],
};

function refused(value: unknown): string {
  try {
    parseServeConfig(value, '/etc/sealpost');
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

const clone = (): typeof FULL => structuredClone(FULL);

describe('parseServeConfig', () => {
  it('reads every part; relative paths are relative to the file; secrets stay named', () => {
    const spec = parseServeConfig(FULL, '/etc/sealpost');
    expect(spec.inbound).toEqual({
      listen: { host: '0.0.0.0', port: 25 },
      tlsCert: '/etc/sealpost/cert.pem',
      tlsKey: '/etc/sealpost/key.pem',
      maxBytes: DEFAULT_INBOUND_MAX_BYTES,
    });
    expect(spec.relay).toMatchObject({
      kind: 'smarthost',
      host: 'smtp.example',
      secure: 'starttls',
      pass: { env: 'SMTP_PASS' },
      ca: '/etc/sealpost/ca.pem',
    });
    expect(spec.upstream?.pass).toEqual({ file: '/etc/sealpost/imap.pass' });
    expect(spec.submission?.listen).toEqual({ host: '127.0.0.1', port: 1587 });
    expect(spec.dns).toEqual([
      { host: '127.0.0.1', port: 53 },
      { host: '::1', port: 5353 },
    ]);
    expect(parseServeConfig({}, '/')).toEqual({});
    expect(parseServeConfig({ relay: { mx: { exceptions: ['Legacy.Example'] } } }, '/')).toEqual({
      relay: { kind: 'mx', exceptions: ['legacy.example'] },
    });
    // The MX port is settable for tests and labs (production MX is 25, the default).
    expect(parseServeConfig({ relay: { mx: { port: 2525 } } }, '/')).toEqual({
      relay: { kind: 'mx', exceptions: [], port: 2525 },
    });
  });

  it('risk-17 a password written in the file is refused, naming the key, never echoed', () => {
    for (const [key, edit] of [
      ['relay.smarthost.pass', (c: typeof FULL) => (c.relay.smarthost.pass = 'hunter2')],
      ['upstream.pass', (c: typeof FULL) => (c.upstream.pass = 'hunter2')],
      ['submission.pass', (c: typeof FULL) => (c.submission.pass = 'hunter2')],
    ] as const) {
      const config = clone();
      edit(config);
      const message = refused(config);
      expect(message).toContain(`"${key}" must be "env:NAME" or "file:PATH"`);
      expect(message).not.toContain('hunter2');
    }
  });

  it('unknown keys are refused at every level', () => {
    expect(refused({ ...FULL, mail: {} })).toMatch(/"mail" is not a known key/);
    expect(refused({ inbound: { ...FULL.inbound, port: 25 } })).toMatch(
      /"inbound\.port" is not a known key/,
    );
    expect(refused({ relay: { smarthost: { ...FULL.relay.smarthost, tls: 'off' } } })).toMatch(
      /"relay\.smarthost\.tls" is not a known key/,
    );
    expect(refused({ relay: { mx: { host: 'mx.example' } } })).toMatch(
      /"relay\.mx\.host" is not a known key/,
    );
  });

  it('bad values name their key', () => {
    expect(refused([])).toMatch(/must be an object/);
    expect(refused({ inbound: { ...FULL.inbound, listen: 'nowhere' } })).toMatch(
      /"inbound\.listen" must be "HOST:PORT"/,
    );
    expect(refused({ inbound: { ...FULL.inbound, maxBytes: 10 } })).toMatch(/"inbound\.maxBytes"/);
    expect(refused({ inbound: { listen: '127.0.0.1:25', tlsKey: 'k' } })).toMatch(
      /"inbound\.tlsCert" must be a non-empty string/,
    );
    expect(refused({ relay: { smarthost: { ...FULL.relay.smarthost, secure: 'none' } } })).toMatch(
      /"relay\.smarthost\.secure" must be one of "starttls", "implicit"/,
    );
    expect(refused({ relay: { smarthost: { ...FULL.relay.smarthost, port: 0 } } })).toMatch(
      /"relay\.smarthost\.port" must be a port number/,
    );
    const noPass: Partial<typeof FULL.relay.smarthost> = { ...FULL.relay.smarthost };
    delete noPass.pass;
    expect(refused({ relay: { smarthost: noPass } })).toMatch(
      /"relay\.smarthost\.pass" is required/,
    );
    expect(refused({ relay: {} })).toMatch(/"relay" must hold exactly one/);
    expect(refused({ relay: { smarthost: FULL.relay.smarthost, mx: {} } })).toMatch(
      /"relay" must hold exactly one/,
    );
    expect(refused({ upstream: { ...FULL.upstream, afterStore: 'keep' } })).toMatch(
      /"upstream\.moveTo" is only for "afterStore": "move"/,
    );
    expect(refused({ upstream: { ...FULL.upstream, afterStore: 'archive' } })).toMatch(
      /"upstream\.afterStore" must be one of/,
    );
    expect(refused({ dns: [] })).toMatch(/"dns" must be a list/);
    expect(refused({ dns: ['127.0.0.1'] })).toMatch(/"dns\[0\]" must be "HOST:PORT"/);
    for (const server of ['ns1.example:53', '999.1.1.1:53', '127.0.0.1:0'])
      expect(refused({ dns: [server] }), server).toMatch(
        /"dns\[0\]" must be a DNS server's "IP:PORT"/,
      );
    expect(refused({ silenceAlertHours: 0 })).toMatch(/"silenceAlertHours" must be a number/);
    expect(refused({ silenceAlertHours: '24' })).toMatch(/"silenceAlertHours" must be a number/);
  });

  it('risk-3 TLS for MX delivery cannot be switched off, only excepted per domain', () => {
    for (const bad of [0, 65536, 25.5, '25']) {
      expect(refused({ relay: { mx: { port: bad } } })).toMatch(
        /"relay\.mx\.port" must be a port number from 1 to 65535/,
      );
    }
    expect(refused({ relay: { mx: { tlsRequired: false } } })).toMatch(
      /"relay\.mx\.tlsRequired" can only be true/,
    );
    expect(refused({ relay: { mx: { exceptions: ['not a domain'] } } })).toMatch(
      /"relay\.mx\.exceptions" must be a list of domain names/,
    );
  });

  it('risk-20 the submission endpoint listens on loopback only', () => {
    expect(refused({ submission: { ...FULL.submission, listen: '0.0.0.0:1587' } })).toMatch(
      /"submission\.listen" must be a loopback address/,
    );
  });
});

describe('loadServeConfig', () => {
  it('reads the file, its certificates and its secrets (env and file)', async () => {
    const file = join(dir, 'serve.json');
    await writeFile(file, JSON.stringify(FULL));
    const config = await loadServeConfig(file, { SMTP_PASS: 'smtp secret', SUBMIT_PASS: 'sub' });
    expect(config.inbound?.tls.cert.toString()).toBe('CERT');
    expect(config.relay).toMatchObject({
      kind: 'smarthost',
      auth: { user: 'clinic', pass: 'smtp secret' },
    });
    expect(config.relay?.kind === 'smarthost' && config.relay.ca?.toString()).toBe('CA');
    expect(config.upstream?.pass).toBe('imap secret');
    expect(config.submission?.pass).toBe('sub');
  });

  it('an unset variable, a missing file, bad JSON: usage errors that say which', async () => {
    const file = join(dir, 'serve.json');
    await writeFile(file, JSON.stringify(FULL));
    await expect(loadServeConfig(file, { SUBMIT_PASS: 'sub' })).rejects.toThrow(
      /"relay\.smarthost\.pass" names the environment variable SMTP_PASS, which is not set/,
    );
    await writeFile(file, JSON.stringify({ inbound: { ...FULL.inbound, tlsKey: 'gone.pem' } }));
    await expect(loadServeConfig(file, {})).rejects.toThrow(/"inbound\.tlsKey".*no such file/);
    await writeFile(file, '{ "inbound": ');
    await expect(loadServeConfig(file, {})).rejects.toThrow(/not valid JSON/);
    await expect(loadServeConfig(join(dir, 'none.json'), {})).rejects.toThrow(
      /--config .*no such file/,
    );
  });
});
