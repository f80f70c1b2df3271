/**
 * The machine-wide policy file (hisp/host/policy.ts): its path per OS, the defaults, and
 * every kind of bad file IT could write, each refused with a message that names the file and
 * the key. Read from real files in a temp dir; an unreadable file is made by the read function.
 * Then loadMachinePolicy, the one loader main and the HISP call: the registry first on Windows
 * (reg.exe replaced by a runner answering with its output; policy-registry.test.ts has the
 * rest), the file elsewhere, and an explicit file alone.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  DEFAULT_POLICY,
  describePolicyForLog,
  isLocked,
  loadMachinePolicy,
  loadPolicy,
  parsePolicy,
  policyPath,
  POLICY_MAX_BYTES,
} from '../../hisp/host/policy.js';
import { HispError } from '../../hisp/api/index.js';
import type { CommandOutput, RunCommand } from '../../hisp/host/policyRegistry.js';

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

describe('loadMachinePolicy: the one loader main and the HISP call', () => {
  const WIN_FILE = 'C:\\ProgramData\\Sealpost\\policy.json';
  const WIN_ENV = { ProgramData: 'C:\\ProgramData', SystemRoot: 'C:\\Windows' };
  const REG_KEY_LINE = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Sealpost';
  const NOT_FOUND: CommandOutput = {
    exitCode: 1,
    stdout: '',
    stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n',
  };

  /** reg.exe answering `output`, recording each command line. */
  function regExe(output: CommandOutput): { run: RunCommand; commands: string[][] } {
    const commands: string[][] = [];
    return {
      commands,
      run: (file, args) => {
        commands.push([file, ...args]);
        return Promise.resolve(output);
      },
    };
  }

  /** Serves `files` (path to text) and nothing else, recording each path read. */
  function files(served: Record<string, string>): {
    read: (path: string) => Promise<Buffer>;
    reads: string[];
  } {
    const reads: string[] = [];
    return {
      reads,
      read: (path) => {
        reads.push(path);
        const text = served[path];
        return text === undefined
          ? Promise.reject(Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' }))
          : Promise.resolve(Buffer.from(text));
      },
    };
  }

  it('on Windows, the registry key with values is the policy, and a file also there is left unread, saying so', async () => {
    const reg = regExe({
      exitCode: 0,
      stdout: `\r\n${REG_KEY_LINE}\r\n    Policy    REG_SZ    {"relay":{"mx":{}}}\r\n    AutoUpdate    REG_DWORD    0x0\r\n    LockedSettings    REG_MULTI_SZ    relay\\0autoUpdate\r\n\r\n`,
      stderr: '',
    });
    // The file would lock nothing and turn updates on: it must not count.
    const disk = files({
      [WIN_FILE]: '{"autoUpdate":true,"upstream":{"host":"h","port":1,"secure":"implicit"}}',
    });
    const loaded = await loadMachinePolicy({
      platform: 'win32',
      env: WIN_ENV,
      runCommand: reg.run,
      readFile: disk.read,
    });
    expect(reg.commands).toEqual([
      ['C:\\Windows\\System32\\reg.exe', 'query', 'HKLM\\SOFTWARE\\Policies\\Sealpost', '/reg:64'],
    ]);
    expect(loaded.path).toBe('HKLM\\SOFTWARE\\Policies\\Sealpost');
    expect(loaded.found).toBe(true);
    expect(loaded.policy.relay).toEqual({ mx: { exceptions: [] } });
    expect(loaded.policy.upstream).toBeUndefined();
    expect(loaded.policy.autoUpdate).toBe(false);
    expect(loaded.policy.lockedSettings).toEqual(['relay', 'autoUpdate']);
    expect(loaded.note).toBe(
      `the policy file ${WIN_FILE} is also there and was ignored: the registry policy takes precedence`,
    );
    const line = describePolicyForLog(loaded);
    expect(line).toMatch(/^policy HKLM\\SOFTWARE\\Policies\\Sealpost: relay preset, /);
    expect(line).toContain('locked: relay, autoUpdate');
    expect(line).toContain(`; the policy file ${WIN_FILE} is also there and was ignored`);

    // Without a file there, nothing to say.
    const alone = await loadMachinePolicy({
      platform: 'win32',
      env: WIN_ENV,
      runCommand: reg.run,
      readFile: files({}).read,
    });
    expect(alone.note).toBeUndefined();
    expect(describePolicyForLog(alone)).not.toContain(';');
  });

  it('on Windows, a bad registry policy stops Sealpost even when the file is fine', async () => {
    const reg = regExe({
      exitCode: 0,
      stdout: `\r\n${REG_KEY_LINE}\r\n    AutoUpdate    REG_SZ    false\r\n\r\n`,
      stderr: '',
    });
    await expect(
      loadMachinePolicy({
        platform: 'win32',
        env: WIN_ENV,
        runCommand: reg.run,
        readFile: files({ [WIN_FILE]: '{}' }).read,
      }),
    ).rejects.toThrow(/HKLM\\SOFTWARE\\Policies\\Sealpost\\AutoUpdate was refused/);
  });

  it('on Windows without the key, reads the file at %ProgramData%', async () => {
    const disk = files({ [WIN_FILE]: '{"lockedSettings":["upstream"]}' });
    const loaded = await loadMachinePolicy({
      platform: 'win32',
      env: WIN_ENV,
      runCommand: regExe(NOT_FOUND).run,
      readFile: disk.read,
    });
    expect(disk.reads).toEqual([WIN_FILE]);
    expect(loaded).toMatchObject({ path: WIN_FILE, found: true });
    expect(loaded.policy.lockedSettings).toEqual(['upstream']);
    expect(loaded.note).toBeUndefined();
  });

  it('with no registry policy and no file, the defaults apply, and the log says both were looked for', async () => {
    const empty = regExe({ exitCode: 0, stdout: `\r\n${REG_KEY_LINE}\r\n\r\n`, stderr: '' });
    for (const run of [regExe(NOT_FOUND).run, empty.run]) {
      const loaded = await loadMachinePolicy({
        platform: 'win32',
        env: WIN_ENV,
        runCommand: run,
        readFile: files({}).read,
      });
      expect(loaded.policy).toEqual(DEFAULT_POLICY);
      expect(loaded.found).toBe(false);
      expect(describePolicyForLog(loaded)).toBe(
        `no policy file at ${WIN_FILE}; no registry policy at HKLM\\SOFTWARE\\Policies\\Sealpost either: defaults apply`,
      );
    }
    const linux = await loadMachinePolicy({ platform: 'linux', readFile: files({}).read });
    expect(linux).toEqual({
      policy: DEFAULT_POLICY,
      path: '/etc/sealpost/policy.json',
      found: false,
    });
  });

  it('elsewhere, reads only the file at the path of the OS (reg.exe is never run)', async () => {
    const path = join(dir, 'linux-policy.json');
    await writeFile(path, '{"autoUpdate":false,"autoLockMinutes":10}');
    const reg = regExe(NOT_FOUND);
    const reads: string[] = [];
    for (const platform of ['linux', 'darwin'] as const) {
      const loaded = await loadMachinePolicy({
        platform,
        runCommand: reg.run,
        readFile: (wanted) => {
          reads.push(wanted);
          return readFile(path);
        },
      });
      expect(loaded).toMatchObject({ path: policyPath(platform), found: true });
      expect(loaded.policy.autoLockMinutes).toBe(10);
    }
    expect(reads).toEqual([
      '/etc/sealpost/policy.json',
      '/Library/Application Support/Sealpost/policy.json',
    ]);
    expect(reg.commands).toEqual([]);
  });

  it('with an explicit file, reads that file and nothing else, on Windows too', async () => {
    const path = join(dir, 'explicit.json');
    await writeFile(path, '{"lockedSettings":["trustAnchors"]}');
    const reg = regExe({
      exitCode: 0,
      stdout: `\r\n${REG_KEY_LINE}\r\n    AutoUpdate    REG_DWORD    0x0\r\n\r\n`,
      stderr: '',
    });
    const loaded = await loadMachinePolicy({
      platform: 'win32',
      env: WIN_ENV,
      runCommand: reg.run,
      file: path,
    });
    expect(reg.commands).toEqual([]);
    expect(loaded).toMatchObject({ path, found: true });
    expect(loaded.policy.lockedSettings).toEqual(['trustAnchors']);
    expect(loaded.policy.autoUpdate).toBe(true);
    // A wrong explicit file is refused like any other; a missing one means no policy.
    await writeFile(path, '{"lockedSettings":["theme"]}');
    await expect(loadMachinePolicy({ file: path })).rejects.toThrow(/lockedSettings\[0\]/);
    const missing = join(dir, 'nowhere.json');
    expect(await loadMachinePolicy({ file: missing })).toEqual({
      policy: DEFAULT_POLICY,
      path: missing,
      found: false,
    });
  });
});
