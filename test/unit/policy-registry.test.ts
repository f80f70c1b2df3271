/**
 * The Windows registry policy (hisp/host/policyRegistry.ts): reg.exe's text output parsed and
 * mapped value by value, every value Sealpost does not read refused by name, and reg.exe
 * failures (missing key, other languages, timeouts, huge output) told apart. The outputs
 * below are written by hand in reg.exe's layout (CRLF, a blank first line, the key, each value
 * indented four spaces with four spaces between name, type and data, subkeys after a blank
 * line); the runner that would start reg.exe is replaced by one that answers with them. The
 * real runner is exercised with Node itself as the child process. Also: the Group Policy
 * template in build/policy is well-formed XML and names exactly the values read here.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { HispError, LOCKABLE_SETTING_LIST } from '../../hisp/api/index.js';
import { loadMachinePolicy, policyFromRegistry } from '../../hisp/host/policy.js';
import {
  CommandLimitError,
  execFileRunner,
  parseRegQueryOutput,
  POLICY_REGISTRY_KEY,
  readRegistryPolicy,
  REG_OUTPUT_MAX_BYTES,
  REG_TIMEOUT_MS,
  regExePath,
  registryPolicyFromListing,
} from '../../hisp/host/policyRegistry.js';
import type { CommandOutput, RunCommand } from '../../hisp/host/policyRegistry.js';

const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Sealpost';

/** reg.exe's stdout for the policy key holding these value lines (already indented). */
function regOutput(...lines: string[]): string {
  return `\r\n${KEY}\r\n${lines.map((line) => `${line}\r\n`).join('')}\r\n`;
}

const NOT_FOUND_STDERR =
  'ERROR: The system was unable to find the specified registry key or value.\r\n';

interface Call {
  file: string;
  args: readonly string[];
  limits: { timeoutMs: number; maxBytes: number };
}

/** A runner answering each query from `answers` by key, and recording what it was asked. */
function fakeRunner(answers: Record<string, CommandOutput | Error>): {
  run: RunCommand;
  calls: Call[];
} {
  const calls: Call[] = [];
  const run: RunCommand = (file, args, limits) => {
    calls.push({ file, args, limits });
    const answer = answers[args[1] ?? ''];
    if (answer === undefined) return Promise.reject(new Error(`no answer for ${args.join(' ')}`));
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { run, calls };
}

const ok = (stdout: string): CommandOutput => ({ exitCode: 0, stdout, stderr: '' });

/** Reads the registry policy from this reg.exe stdout and turns it into a policy. */
async function policyFrom(...lines: string[]) {
  const { run } = fakeRunner({ [POLICY_REGISTRY_KEY]: ok(regOutput(...lines)) });
  const registry = await readRegistryPolicy({ run });
  if (registry === undefined) throw new Error('no registry policy');
  return policyFromRegistry(registry);
}

/** The HispError that reading this reg.exe stdout gets. */
async function refusal(...lines: string[]): Promise<HispError> {
  const error: unknown = await policyFrom(...lines).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof HispError) return error;
  throw new Error(`expected a HispError, got ${String(error)}`);
}

describe('reg.exe output parsing', () => {
  it('reads each type reg.exe prints', () => {
    const listing = parseRegQueryOutput(
      regOutput(
        '    Policy    REG_SZ    {"version":1}',
        '    Expand    REG_EXPAND_SZ    %ProgramData%\\Sealpost',
        '    Lines    REG_MULTI_SZ    relay\\0upstream\\0autoUpdate',
        '    Small    REG_DWORD    0x0',
        '    Big    REG_DWORD    0xffffffff',
        '    Wide    REG_QWORD    0x10',
        '    Raw    REG_BINARY    01FF',
        '    Empty    REG_SZ    ',
        '    EmptyList    REG_MULTI_SZ    ',
        '    Name with spaces    REG_SZ    a  b',
      ),
      POLICY_REGISTRY_KEY,
    );
    expect(listing.subkeys).toEqual([]);
    expect(listing.values).toEqual([
      { name: 'Policy', type: 'REG_SZ', data: '{"version":1}' },
      { name: 'Expand', type: 'REG_EXPAND_SZ', data: '%ProgramData%\\Sealpost' },
      { name: 'Lines', type: 'REG_MULTI_SZ', data: ['relay', 'upstream', 'autoUpdate'] },
      { name: 'Small', type: 'REG_DWORD', data: 0 },
      { name: 'Big', type: 'REG_DWORD', data: 0xffffffff },
      { name: 'Wide', type: 'REG_QWORD', data: '0x10' },
      { name: 'Raw', type: 'REG_BINARY', data: '01FF' },
      { name: 'Empty', type: 'REG_SZ', data: '' },
      { name: 'EmptyList', type: 'REG_MULTI_SZ', data: [] },
      { name: 'Name with spaces', type: 'REG_SZ', data: 'a  b' },
    ]);
  });

  it('lists subkeys, and takes an empty key as no values', () => {
    const listing = parseRegQueryOutput(
      `\r\n${KEY}\r\n    AutoUpdate    REG_DWORD    0x1\r\n\r\n${KEY}\\LockedSettings\r\n`,
      POLICY_REGISTRY_KEY,
    );
    expect(listing.subkeys).toEqual([`${KEY}\\LockedSettings`]);
    expect(parseRegQueryOutput(`\r\n${KEY}\r\n\r\n`, POLICY_REGISTRY_KEY)).toEqual({
      values: [],
      subkeys: [],
    });
  });

  it('refuses a line that is not in reg.exe layout (a REG_SZ holding a line break)', () => {
    expect(() =>
      parseRegQueryOutput(
        regOutput('    Policy    REG_SZ    {"version":1,', '"autoUpdate":false}'),
        POLICY_REGISTRY_KEY,
      ),
    ).toThrow(/HKLM\\SOFTWARE\\Policies\\Sealpost was refused: .*line 4/);
    expect(() => parseRegQueryOutput('\r\nsomething else\r\n', POLICY_REGISTRY_KEY)).toThrow(
      /does not understand/,
    );
    expect(() =>
      parseRegQueryOutput(regOutput('    Count    REG_DWORD    12'), POLICY_REGISTRY_KEY),
    ).toThrow(/Sealpost\\Count was refused: reg\.exe printed a REG_DWORD that is not 0x/);
    expect(() =>
      parseRegQueryOutput(regOutput('    Odd    REG_SOMETHING    1'), POLICY_REGISTRY_KEY),
    ).toThrow(/unknown type REG_SOMETHING/);
  });

  it('refuses bytes outside ASCII, which the console code page would have changed', async () => {
    // "Zürich" as reg.exe writes it through code page 850: ü is 0x81.
    const stdout = Buffer.concat([
      Buffer.from(`\r\n${KEY}\r\n    Policy    REG_SZ    {"upstream":{"host":"z`, 'latin1'),
      Buffer.from([0x81]),
      Buffer.from('rich.example","port":993,"secure":"implicit"}}\r\n\r\n', 'latin1'),
    ]);
    const { run } = fakeRunner({ [POLICY_REGISTRY_KEY]: { exitCode: 0, stdout, stderr: '' } });
    await expect(readRegistryPolicy({ run })).rejects.toThrow(
      /HKLM\\SOFTWARE\\Policies\\Sealpost\\Policy was refused: it holds characters outside ASCII.*\\u escapes/,
    );
  });
});

describe('registry values mapped to the policy', () => {
  it('reads the JSON document from Policy (REG_SZ, no byte-order mark)', async () => {
    const policy = await policyFrom(
      '    Policy    REG_SZ    {"version":1,"relay":{"mx":{}},"autoUpdate":false,"lockedSettings":["relay"]}',
    );
    expect(policy.relay).toEqual({ mx: { exceptions: [] } });
    expect(policy.autoUpdate).toBe(false);
    expect(policy.lockedSettings).toEqual(['relay']);
    expect(policy.trust).toEqual({ bundles: [], anchors: [] });
  });

  it('joins the lines of a REG_MULTI_SZ Policy (as the Group Policy text box stores it)', async () => {
    const policy = await policyFrom(
      '    Policy    REG_MULTI_SZ    {\\0  "upstream": {\\0    "host": "imap.clinic.example",\\0    "port": 993,\\0    "secure": "implicit"\\0  }\\0}',
    );
    expect(policy.upstream).toEqual({ host: 'imap.clinic.example', port: 993, secure: 'implicit' });
  });

  it('lets the scalar values set keys without JSON, and override the document', async () => {
    const scalarsOnly = await policyFrom(
      '    AutoUpdate    REG_DWORD    0x0',
      '    AutoLockMinutes    REG_DWORD    0xf',
      '    LockedSettings    REG_MULTI_SZ    autoUpdate\\0autoLock\\0\\0autoLock',
    );
    expect(scalarsOnly.autoUpdate).toBe(false);
    expect(scalarsOnly.autoLockMinutes).toBe(15);
    expect(scalarsOnly.lockedSettings).toEqual(['autoUpdate', 'autoLock']);

    const overridden = await policyFrom(
      '    Policy    REG_SZ    {"autoUpdate":false,"autoLockMinutes":5,"lockedSettings":["relay"],"relay":{"mx":{}}}',
      '    AutoUpdate    REG_DWORD    0x1',
      '    AutoLockMinutes    REG_DWORD    0x0',
      '    LockedSettings    REG_MULTI_SZ    upstream',
    );
    expect(overridden.autoUpdate).toBe(true);
    expect(overridden.autoLockMinutes).toBe(0);
    expect(overridden.lockedSettings).toEqual(['upstream']);
    expect(overridden.relay).toEqual({ mx: { exceptions: [] } });
  });

  it('matches value names without regard to case, as the registry does', async () => {
    const policy = await policyFrom(
      '    autoupdate    REG_DWORD    0x0',
      '    LOCKEDSETTINGS    REG_MULTI_SZ    trustBundles',
    );
    expect(policy.autoUpdate).toBe(false);
    expect(policy.lockedSettings).toEqual(['trustBundles']);
  });

  it.each([
    [
      ['    Colour    REG_SZ    red'],
      /Sealpost\\Colour was refused: unknown value \(Sealpost reads Policy, AutoUpdate, AutoLockMinutes, LockedSettings\)/,
    ],
    [
      ['    AutoUpdate    REG_SZ    0'],
      /Sealpost\\AutoUpdate was refused: it is REG_SZ; .*REG_DWORD 0 or 1/,
    ],
    [
      ['    AutoUpdate    REG_DWORD    0x2'],
      /Sealpost\\AutoUpdate was refused: it is 2; only 0 \(off\) or 1/,
    ],
    [
      ['    AutoLockMinutes    REG_DWORD    0x5a1'],
      /Sealpost\\AutoLockMinutes was refused: it is 1441; at most 1440/,
    ],
    [
      ['    AutoLockMinutes    REG_DWORD    0xffffffff'],
      /Sealpost\\AutoLockMinutes was refused: it is 4294967295/,
    ],
    [
      ['    AutoLockMinutes    REG_QWORD    0x5'],
      /Sealpost\\AutoLockMinutes was refused: it is REG_QWORD/,
    ],
    [
      ['    LockedSettings    REG_SZ    relay'],
      /Sealpost\\LockedSettings was refused: it is REG_SZ; .*REG_MULTI_SZ/,
    ],
    [
      ['    LockedSettings    REG_MULTI_SZ    relay\\0theme'],
      /Sealpost\\LockedSettings was refused: line 2 is not a setting Sealpost can lock/,
    ],
    [
      ['    Policy    REG_EXPAND_SZ    {}'],
      /Sealpost\\Policy was refused: it is REG_EXPAND_SZ; .*REG_SZ or REG_MULTI_SZ/,
    ],
    [['    Policy    REG_DWORD    0x1'], /Sealpost\\Policy was refused: it is REG_DWORD/],
  ])('refuses what Sealpost does not read, naming the value: %j', async (lines, message) => {
    const error = await refusal(...lines);
    expect(error.code).toBe('USAGE');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('HKLM\\SOFTWARE\\Policies\\Sealpost\\');
  });

  it('refuses a subkey rather than ignore it (a Group Policy list written by hand)', async () => {
    const { run } = fakeRunner({
      [POLICY_REGISTRY_KEY]: ok(
        `\r\n${KEY}\r\n    AutoUpdate    REG_DWORD    0x0\r\n\r\n${KEY}\\LockedSettings\r\n`,
      ),
    });
    await expect(readRegistryPolicy({ run })).rejects.toThrow(
      /HKLM\\SOFTWARE\\Policies\\Sealpost\\LockedSettings was refused: it is a subkey/,
    );
  });

  it('refuses a bad Policy document, naming the value and the key inside it', async () => {
    expect((await refusal('    Policy    REG_SZ    {"relay": ')).message).toMatch(
      /registry value HKLM\\SOFTWARE\\Policies\\Sealpost\\Policy is not valid JSON/,
    );
    expect((await refusal('    Policy    REG_SZ    []')).message).toMatch(
      /Sealpost\\Policy must hold one JSON object/,
    );
    expect((await refusal('    Policy    REG_SZ    {"lockedSetting":["relay"]}')).message).toMatch(
      /Sealpost\\Policy was refused: unknown key "lockedSetting" in the top level/,
    );
    // A scalar value does not hide a mistake in the document's own key.
    const hidden = await refusal(
      '    Policy    REG_SZ    {"autoUpdate":"no"}',
      '    AutoUpdate    REG_DWORD    0x0',
    );
    expect(hidden.message).toMatch(/Sealpost\\Policy was refused: autoUpdate/);
  });

  it('maps through registryPolicyFromListing without reg.exe, and an empty key is no policy', () => {
    expect(registryPolicyFromListing({ values: [], subkeys: [] })).toBeUndefined();
    expect(
      registryPolicyFromListing({
        values: [{ name: '(Default)', type: 'REG_SZ', data: '(value not set)' }],
        subkeys: [],
      }),
    ).toBeUndefined();
    expect(
      registryPolicyFromListing({
        values: [{ name: 'AutoUpdate', type: 'REG_DWORD', data: 1 }],
        subkeys: [],
      }),
    ).toEqual({ key: POLICY_REGISTRY_KEY, overrides: { autoUpdate: true } });
  });
});

describe('running reg.exe', () => {
  it('runs %SystemRoot%\\System32\\reg.exe on the 64-bit view, with a timeout and an output bound', async () => {
    const { run, calls } = fakeRunner({
      [POLICY_REGISTRY_KEY]: ok(regOutput('    AutoUpdate    REG_DWORD    0x1')),
    });
    await readRegistryPolicy({ run, env: { SystemRoot: 'D:\\Windows' } });
    expect(calls).toEqual([
      {
        file: 'D:\\Windows\\System32\\reg.exe',
        args: ['query', 'HKLM\\SOFTWARE\\Policies\\Sealpost', '/reg:64'],
        limits: { timeoutMs: REG_TIMEOUT_MS, maxBytes: REG_OUTPUT_MAX_BYTES },
      },
    ]);
    expect(regExePath({})).toBe('C:\\Windows\\System32\\reg.exe');
    // A relative %SystemRoot% is not trusted: reg.exe is never looked up on the PATH.
    expect(regExePath({ SystemRoot: 'Windows' })).toBe('C:\\Windows\\System32\\reg.exe');
  });

  it('takes a missing key (exit 1, "unable to find") as no registry policy', async () => {
    const { run, calls } = fakeRunner({
      [POLICY_REGISTRY_KEY]: { exitCode: 1, stdout: '', stderr: NOT_FOUND_STDERR },
    });
    expect(await readRegistryPolicy({ run })).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('settles a translated "not found" by listing HKLM\\SOFTWARE\\Policies', async () => {
    const german = {
      exitCode: 1,
      stdout: '',
      stderr: Buffer.from(
        'FEHLER: Der angegebene Registrierungsschl\x81ssel bzw. Wert wurde nicht gefunden.\r\n',
        'latin1',
      ),
    };
    const policies = (...subkeys: string[]) =>
      ok(
        `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\r\n\r\n${subkeys.map((key) => `HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\${key}\r\n`).join('')}`,
      );
    const absent = fakeRunner({
      [POLICY_REGISTRY_KEY]: german,
      'HKLM\\SOFTWARE\\Policies': policies('Google', 'Microsoft', 'Mozilla'),
    });
    expect(await readRegistryPolicy({ run: absent.run })).toBeUndefined();
    expect(absent.calls.map((call) => call.args)).toEqual([
      ['query', 'HKLM\\SOFTWARE\\Policies\\Sealpost', '/reg:64'],
      ['query', 'HKLM\\SOFTWARE\\Policies', '/reg:64'],
    ]);

    // The key is there but could not be read: refused, never taken as "no policy".
    const present = fakeRunner({
      [POLICY_REGISTRY_KEY]: german,
      'HKLM\\SOFTWARE\\Policies': policies('Microsoft', 'Sealpost'),
    });
    await expect(readRegistryPolicy({ run: present.run })).rejects.toThrow(
      /could not be read: reg\.exe exited with 1 \(FEHLER: Der angegebene Registrierungsschl\?ssel/,
    );
  });

  it('refuses when reg.exe is blocked or fails, rather than run without the policy', async () => {
    const blocked = fakeRunner({
      [POLICY_REGISTRY_KEY]: {
        exitCode: 1,
        stdout: '',
        stderr: 'ERROR: Registry editing has been disabled by your administrator.\r\n',
      },
      'HKLM\\SOFTWARE\\Policies': {
        exitCode: 1,
        stdout: '',
        stderr: 'ERROR: Registry editing has been disabled by your administrator.\r\n',
      },
    });
    await expect(readRegistryPolicy({ run: blocked.run })).rejects.toThrow(
      /registry policy HKLM\\SOFTWARE\\Policies\\Sealpost could not be read: reg\.exe exited with 1 \(ERROR: Registry editing has been disabled/,
    );
    const syntax = fakeRunner({
      [POLICY_REGISTRY_KEY]: { exitCode: 2, stdout: '', stderr: 'ERROR: Invalid syntax.\r\n' },
    });
    await expect(readRegistryPolicy({ run: syntax.run })).rejects.toThrow(/exited with 2/);
  });

  it('refuses when the runner throws, times out or reports too much output', async () => {
    const missing = Object.assign(new Error('spawn C:\\Windows\\System32\\reg.exe ENOENT'), {
      code: 'ENOENT',
    });
    const cases: [Error, RegExp][] = [
      [missing, /reg\.exe could not be run \(ENOENT\)/],
      [new CommandLimitError('timeout', 'slow'), /reg\.exe did not answer in 15 s/],
      [new CommandLimitError('output', 'big'), /reg\.exe printed more than \d+ bytes/],
    ];
    for (const [error, message] of cases) {
      const { run } = fakeRunner({ [POLICY_REGISTRY_KEY]: error });
      const caught: unknown = await readRegistryPolicy({ run }).catch((thrown: unknown) => thrown);
      expect(caught).toBeInstanceOf(HispError);
      expect((caught as HispError).code).toBe('USAGE');
      expect((caught as HispError).message).toMatch(message);
      expect((caught as HispError).message).toContain('Sealpost does not start');
    }
  });

  it('refuses huge output even when the runner did not stop it', async () => {
    const huge = regOutput(`    Policy    REG_SZ    ${' '.repeat(REG_OUTPUT_MAX_BYTES)}{}`);
    const { run } = fakeRunner({ [POLICY_REGISTRY_KEY]: ok(huge) });
    await expect(readRegistryPolicy({ run })).rejects.toThrow(
      new RegExp(
        `reg\\.exe printed ${Buffer.byteLength(huge)} bytes; at most ${REG_OUTPUT_MAX_BYTES}`,
      ),
    );
  });
});

describe('the real runner (execFileRunner), with Node as the child', () => {
  const node = process.execPath;
  const limits = { timeoutMs: 5_000, maxBytes: 1024 };

  it('resolves with the exit code and output, a non-zero exit included', async () => {
    const result = await execFileRunner(
      node,
      ['-e', 'process.stdout.write("out"); process.stderr.write("err"); process.exit(1)'],
      limits,
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout.toString()).toBe('out');
    expect(result.stderr.toString()).toBe('err');
    // Arguments reach the child as they are: no shell.
    const echo = await execFileRunner(
      node,
      ['-e', 'process.stdout.write(process.argv[1])', 'HKLM\\A B & "c" | %x%'],
      limits,
    );
    expect(echo.stdout.toString()).toBe('HKLM\\A B & "c" | %x%');
  });

  it('stops a child that runs too long or prints too much', async () => {
    await expect(
      execFileRunner(node, ['-e', 'setTimeout(() => {}, 60_000)'], {
        timeoutMs: 200,
        maxBytes: 1024,
      }),
    ).rejects.toMatchObject({ name: 'CommandLimitError', limit: 'timeout' });
    await expect(
      execFileRunner(node, ['-e', 'process.stdout.write("x".repeat(100_000))'], limits),
    ).rejects.toMatchObject({ name: 'CommandLimitError', limit: 'output' });
  });

  it('rejects when the command cannot be started', async () => {
    await expect(execFileRunner('/nonexistent/reg.exe', ['query'], limits)).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});

describe('loadMachinePolicy with the registry', () => {
  const enoent = () =>
    Promise.reject(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));

  it('uses reg.exe only on Windows', async () => {
    const { run, calls } = fakeRunner({});
    const loaded = await loadMachinePolicy({
      platform: 'linux',
      runCommand: run,
      readFile: enoent,
    });
    expect(loaded.found).toBe(false);
    expect(calls).toEqual([]);
  });

  it('takes the registry policy on Windows, naming the key', async () => {
    const { run } = fakeRunner({
      [POLICY_REGISTRY_KEY]: ok(regOutput('    AutoUpdate    REG_DWORD    0x0')),
    });
    const loaded = await loadMachinePolicy({
      platform: 'win32',
      env: {},
      runCommand: run,
      readFile: enoent,
    });
    expect(loaded).toMatchObject({ path: POLICY_REGISTRY_KEY, found: true });
    expect(loaded.note).toBeUndefined();
    expect(loaded.policy.autoUpdate).toBe(false);
  });
});

/** jsdom's DOMParser, whose XML mode is a strict parser (saxes): the template's check. */
function xmlParser(): DOMParser {
  const jsdom = createRequire(import.meta.url)('jsdom') as {
    JSDOM: new (html: string) => { window: { DOMParser: typeof DOMParser } };
  };
  return new new jsdom.JSDOM('').window.DOMParser();
}

/** A template file, parsed as XML; not well-formed is an error naming the place. */
async function xmlDocument(path: string): Promise<Document> {
  const text = await readFile(join(import.meta.dirname, '..', '..', path), 'utf8');
  const document = xmlParser().parseFromString(text, 'application/xml');
  const error = document.getElementsByTagName('parsererror')[0];
  if (error !== undefined) throw new Error(`${path} is not well-formed XML: ${error.textContent}`);
  return document;
}

describe('the Group Policy template (build/policy)', () => {
  it('the XML parser used here does refuse a document that is not well-formed', () => {
    for (const broken of ['<a><b></a>', '<a x="1" x="2"/>', '<a>&nope;</a>', '<a/><b/>']) {
      const document = xmlParser().parseFromString(broken, 'application/xml');
      expect(document.getElementsByTagName('parsererror'), broken).toHaveLength(1);
    }
  });

  it('is well-formed, and writes exactly the values Sealpost reads, under its key', async () => {
    const admx = await xmlDocument('build/policy/sealpost.admx');
    const adml = await xmlDocument('build/policy/en-US/sealpost.adml');
    expect(admx.documentElement.localName).toBe('policyDefinitions');
    expect(adml.documentElement.localName).toBe('policyDefinitionResources');

    const policies = [...admx.getElementsByTagName('policy')];
    expect(policies.length).toBeGreaterThan(0);
    const written = new Map<string, string>();
    for (const policy of policies) {
      expect(policy.getAttribute('key')).toBe('Software\\Policies\\Sealpost');
      expect(policy.getAttribute('class')).toBe('Machine');
      const own = policy.getAttribute('valueName');
      if (own !== null) written.set(own, 'policy');
      for (const element of [...(policy.getElementsByTagName('elements')[0]?.children ?? [])]) {
        const name = element.getAttribute('valueName');
        if (name !== null) written.set(name, element.localName);
      }
    }
    expect(Object.fromEntries(written)).toEqual({
      AutoUpdate: 'policy',
      AutoLockMinutes: 'decimal',
      LockedSettings: 'multiText',
      Policy: 'multiText',
    });
    const lock = admx.querySelector('decimal[valueName="AutoLockMinutes"]');
    expect([lock?.getAttribute('minValue'), lock?.getAttribute('maxValue')]).toEqual(['0', '1440']);

    // Every string and presentation the ADMX names is in the ADML, and each presentation
    // control refers to an element of its policy.
    const strings = new Set(
      [...adml.getElementsByTagName('string')].map((string) => string.getAttribute('id')),
    );
    const presentations = new Map(
      [...adml.getElementsByTagName('presentation')].map((p) => [p.getAttribute('id'), p]),
    );
    const admxText = await readFile(
      join(import.meta.dirname, '..', '..', 'build/policy/sealpost.admx'),
      'utf8',
    );
    for (const [, kind, id] of admxText.matchAll(/\$\((string|presentation)\.([A-Za-z0-9_]+)\)/g)) {
      if (kind === 'string') expect(strings.has(id ?? ''), `string ${id}`).toBe(true);
      else expect(presentations.has(id ?? ''), `presentation ${id}`).toBe(true);
    }
    for (const policy of policies) {
      const ref = /^\$\(presentation\.(.+)\)$/.exec(policy.getAttribute('presentation') ?? '')?.[1];
      if (ref === undefined) continue;
      const ids = [...(policy.getElementsByTagName('elements')[0]?.children ?? [])].map((e) =>
        e.getAttribute('id'),
      );
      const refIds = [...(presentations.get(ref)?.children ?? [])].map((c) =>
        c.getAttribute('refId'),
      );
      expect(refIds.sort()).toEqual(ids.sort());
    }

    // The LockedSettings help lists every setting that can be locked, and only those.
    const help = adml.querySelector('string[id="LockedSettings_Explain"]')?.textContent ?? '';
    for (const setting of LOCKABLE_SETTING_LIST)
      expect(help).toMatch(new RegExp(`^${setting}$`, 'm'));
  });
});
