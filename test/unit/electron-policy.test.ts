/**
 * The machine-wide policy file (electron/main/policy.ts): its path per OS, the defaults, and
 * every kind of bad file IT could write, each refused with a message that names the file and
 * the key. Read from real files in a temp dir; an unreadable file is made by the read function.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_POLICY,
  describePolicyForLog,
  isLocked,
  loadPolicy,
  parsePolicy,
  policyPath,
  POLICY_MAX_BYTES,
} from '../../electron/main/policy.js';
import { HispError } from '../../hisp/api/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealpost-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const FULL = {
  version: 1,
  relay: {
    smarthost: { host: 'smtp.clinic.example', port: 587, secure: 'starttls', user: 'frontdesk' },
  },
  upstream: { host: 'imap.clinic.example', port: 993, secure: 'implicit', mailbox: 'INBOX' },
  trust: {
    bundles: [
      {
        name: 'directtrust',
        url: 'https://bundles.example.org/trust.p7b',
        refreshHours: 24,
        requireSigned: false,
      },
    ],
    anchors: [
      {
        certificates: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        domain: 'direct.clinic.example',
        direction: 'both',
      },
    ],
  },
  autoUpdate: false,
  lockedSettings: ['relay', 'upstream', 'trustBundles', 'autoUpdate'],
};

/** The HispError a bad policy text gets. */
function refusal(text: string): HispError {
  try {
    parsePolicy(text, '/etc/sealpost/policy.json');
  } catch (error) {
    if (error instanceof HispError) return error;
    throw error;
  }
  throw new Error('the policy was accepted');
}

describe('policy file path', () => {
  it('is fixed per OS', () => {
    expect(policyPath('linux')).toBe('/etc/sealpost/policy.json');
    expect(policyPath('freebsd')).toBe('/etc/sealpost/policy.json');
    expect(policyPath('darwin')).toBe('/Library/Application Support/Sealpost/policy.json');
  });

  it('follows %ProgramData% on Windows, falling back to the system drive', () => {
    expect(policyPath('win32', { ProgramData: 'D:\\ProgramData' })).toBe(
      'D:\\ProgramData\\Sealpost\\policy.json',
    );
    expect(policyPath('win32', { PROGRAMDATA: 'C:\\ProgramData' })).toBe(
      'C:\\ProgramData\\Sealpost\\policy.json',
    );
    expect(policyPath('win32', {})).toBe('C:\\ProgramData\\Sealpost\\policy.json');
    // A relative %ProgramData% is not trusted.
    expect(policyPath('win32', { ProgramData: 'ProgramData', SystemDrive: 'E:' })).toBe(
      'E:\\ProgramData\\Sealpost\\policy.json',
    );
  });
});

describe('policy parsing', () => {
  it('reads a full policy', () => {
    const policy = parsePolicy(JSON.stringify(FULL), 'policy.json');
    expect(policy.relay).toEqual(FULL.relay);
    expect(policy.upstream).toEqual(FULL.upstream);
    expect(policy.trust.bundles).toEqual(FULL.trust.bundles);
    expect(policy.trust.anchors).toEqual(FULL.trust.anchors);
    expect(policy.autoUpdate).toBe(false);
    expect(isLocked(policy, 'relay')).toBe(true);
    expect(isLocked(policy, 'trustAnchors')).toBe(false);
  });

  it('keeps the defaults for every key left out', () => {
    expect(DEFAULT_POLICY).toEqual({
      version: 1,
      trust: { bundles: [], anchors: [] },
      autoUpdate: true,
      lockedSettings: [],
    });
    expect(parsePolicy('{}', 'policy.json')).toEqual(DEFAULT_POLICY);
    const onlyLocks = parsePolicy('{"lockedSettings":["autoUpdate"]}', 'policy.json');
    expect(onlyLocks.autoUpdate).toBe(true);
    expect(onlyLocks.trust).toEqual({ bundles: [], anchors: [] });
    expect(parsePolicy('{"relay":{"mx":{}}}', 'policy.json').relay).toEqual({
      mx: { exceptions: [] },
    });
  });

  it.each([
    ['{"autoUpdates": false}', /unknown key "autoUpdates" in the top level/],
    [
      '{"relay":{"smarthost":{"host":"h","port":25,"secure":"starttls","pass":"secret"}}}',
      /unknown key "pass" in relay\.smarthost \(passwords never go in the policy file/,
    ],
    [
      '{"upstream":{"host":"h","port":993,"secure":"implicit","password":"x"}}',
      /unknown key "password" in upstream/,
    ],
    [
      '{"trust":{"bundles":[{"name":"b","url":"https://x.example/b.p7b","extra":1}]}}',
      /unknown key "extra" in trust\.bundles\[0\]/,
    ],
    ['{"trust":{"anchor":[]}}', /unknown key "anchor" in trust/],
  ])('refuses unknown keys, naming them: %s', (text, message) => {
    const error = refusal(text);
    expect(error.code).toBe('USAGE');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('/etc/sealpost/policy.json');
  });

  it('never echoes a value from the file (a password put in the wrong place stays out of logs)', () => {
    const error = refusal(
      '{"upstream":{"host":"h","port":993,"secure":"implicit","password":"hunter2"}}',
    );
    expect(error.message).not.toContain('hunter2');
  });

  it.each([
    ['{"autoUpdate": "no"}', /autoUpdate/],
    ['{"version": 2}', /version/],
    ['{"lockedSettings": "relay"}', /lockedSettings/],
    ['{"lockedSettings": ["relay", "theme"]}', /lockedSettings\[1\]/],
    ['{"upstream":{"host":"h","port":99999,"secure":"implicit"}}', /upstream\.port/],
    ['{"upstream":{"host":"h","port":"993","secure":"implicit"}}', /upstream\.port/],
    ['{"upstream":{"host":"h","port":993,"secure":"tls"}}', /upstream\.secure/],
    ['{"upstream":{"port":993,"secure":"implicit"}}', /upstream\.host/],
    [
      '{"relay":{"smarthost":{"host":"h","port":587,"secure":"starttls"},"mx":{}}}',
      /relay: must be exactly one of/,
    ],
    ['{"relay":{}}', /relay: must be exactly one of/],
    [
      '{"trust":{"bundles":[{"name":"b","url":"http://x.example/b.p7b"}]}}',
      /trust\.bundles\[0\]\.url/,
    ],
    ['{"trust":{"anchors":[{"certificates":""}]}}', /trust\.anchors\[0\]\.certificates/],
    [
      '{"trust":{"anchors":[{"certificates":"x","direction":"sideways"}]}}',
      /trust\.anchors\[0\]\.direction/,
    ],
    ['{"trust":[]}', /trust/],
  ])('refuses wrong types and values, naming the key: %s', (text, message) => {
    const error = refusal(text);
    expect(error.code).toBe('USAGE');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['', /not valid JSON/],
    ['{"relay": ', /not valid JSON/],
    ['[]', /one JSON object/],
    ['null', /one JSON object/],
    ['"text"', /one JSON object/],
  ])('refuses a file that is not one JSON object: %j', (text, message) => {
    expect(refusal(text).message).toMatch(message);
  });

  it('lists every problem, not only the first', () => {
    const error = refusal('{"autoUpdate":1,"lockedSettings":["x"],"colour":"red"}');
    expect(error.message).toMatch(/autoUpdate/);
    expect(error.message).toMatch(/lockedSettings\[0\]/);
    expect(error.message).toMatch(/"colour"/);
  });
});

describe('loading the policy file', () => {
  it('gives the defaults, and says so, when there is no file', async () => {
    const path = join(dir, 'missing', 'policy.json');
    const loaded = await loadPolicy(path);
    expect(loaded).toEqual({ policy: DEFAULT_POLICY, path, found: false });
    expect(describePolicyForLog(loaded)).toBe(`no policy file at ${path}: defaults apply`);
  });

  it('reads a real file, with or without a byte-order mark', async () => {
    const path = join(dir, 'policy.json');
    await writeFile(path, `\uFEFF${JSON.stringify(FULL, null, 2)}`);
    const loaded = await loadPolicy(path);
    expect(loaded.found).toBe(true);
    expect(loaded.policy.autoUpdate).toBe(false);
    const line = describePolicyForLog(loaded);
    expect(line).toContain('relay preset, upstream preset, 1 trust bundle(s), 1 anchor set(s)');
    expect(line).toContain('locked: relay, upstream, trustBundles, autoUpdate');
    expect(line).not.toContain('clinic.example');
    expect(line).not.toContain('frontdesk');
  });

  it('refuses a file that exists but cannot be read, rather than running without it', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    await expect(
      loadPolicy('/etc/sealpost/policy.json', () => Promise.reject(denied)),
    ).rejects.toThrow(
      /policy file \/etc\/sealpost\/policy\.json exists but could not be read \(EACCES\)/,
    );
    const isDir = await loadPolicy(dir).catch((error: unknown) => error);
    expect(isDir).toBeInstanceOf(HispError);
    expect((isDir as HispError).message).toContain('EISDIR');
  });

  it('refuses a file that is too large or not UTF-8', async () => {
    const big = join(dir, 'big.json');
    await writeFile(big, Buffer.alloc(POLICY_MAX_BYTES + 1, 0x20));
    await expect(loadPolicy(big)).rejects.toThrow(/at most/);
    const latin1 = join(dir, 'latin1.json');
    await writeFile(latin1, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    await expect(loadPolicy(latin1)).rejects.toThrow(/not UTF-8/);
  });

  it('refuses a file with a bad key, naming the file', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{"lockedSetting":["relay"]}');
    await expect(loadPolicy(path)).rejects.toThrow(
      new RegExp(
        `${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} was refused: unknown key "lockedSetting"`,
      ),
    );
  });
});

describe('docs/deployment.md', () => {
  it('its example policy is one the parser accepts', async () => {
    const doc = await readFile(
      join(import.meta.dirname, '..', '..', 'docs', 'deployment.md'),
      'utf8',
    );
    const example = /### Example\s+```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example, 'the Example section has a json block').toBeDefined();
    const policy = parsePolicy(example ?? '', 'docs/deployment.md');
    expect(policy.autoUpdate).toBe(false);
    expect(policy.lockedSettings).toEqual(['relay', 'upstream', 'trustBundles', 'autoUpdate']);
  });

  it('names the same paths as policyPath', async () => {
    const doc = await readFile(
      join(import.meta.dirname, '..', '..', 'docs', 'deployment.md'),
      'utf8',
    );
    expect(doc).toContain(`\`${policyPath('linux')}\``);
    expect(doc).toContain(`\`${policyPath('darwin')}\``);
    expect(doc).toContain('`%ProgramData%\\Sealpost\\policy.json`');
  });
});
