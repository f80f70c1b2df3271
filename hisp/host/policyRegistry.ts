/**
 * The Windows registry side of the machine-wide policy: what IT sets under
 * `HKLM\SOFTWARE\Policies\Sealpost`, by Group Policy (build/policy/sealpost.admx), Intune
 * (the same template, ingested) or any tool that writes registry values. hisp/host/policy.ts
 * decides when it applies (on Windows, whenever the key has values: it is then the whole
 * policy and the policy file is ignored) and checks the result against the file's schema.
 *
 * Node only (no `electron` import). The registry is read by running
 * `%SystemRoot%\System32\reg.exe query "HKLM\SOFTWARE\Policies\Sealpost" /reg:64`: no shell,
 * a timeout, bounded output, and the runner injected so tests feed it real-looking output.
 * Node has no registry API, and a native module for one read at start is not worth its weight.
 *
 * The values (names are case-insensitive, as in the registry):
 *
 *   Policy           REG_SZ, or REG_MULTI_SZ whose lines are joined with "\n": the same JSON
 *                    document as the policy file (docs/deployment.md).
 *   AutoUpdate       REG_DWORD 0 or 1                 -> autoUpdate false / true
 *   AutoLockMinutes  REG_DWORD 0..1440 (0 = never)    -> autoLockMinutes
 *   LockedSettings   REG_MULTI_SZ, one setting a line -> lockedSettings (blank lines skipped)
 *
 * The three scalar values exist so a Group Policy template can set them without anyone
 * writing JSON; each one overrides the same key of the Policy document.
 *
 * Strict, like the file: a value with another name, a value of the wrong type (AutoUpdate as
 * REG_SZ), a number out of range, an unknown locked setting, and any subkey are each a
 * HispError USAGE naming `HKLM\SOFTWARE\Policies\Sealpost\<Value>`, never skipped: a policy
 * half-applied could leave unlocked what IT locked. Subkeys are refused rather than ignored
 * because the likeliest one is a Group Policy `list` written by hand (a subkey of numbered
 * values) where Sealpost reads a REG_MULTI_SZ; ignoring it would silently drop the locks.
 *
 * What counts as "no registry policy": reg.exe's exit code 1 with its "unable to find the
 * specified registry key" message, or a key with no values at all (every Group Policy setting
 * "Not configured"). reg.exe's messages are translated on non-English Windows, so an exit
 * code 1 without the English message is settled by listing `HKLM\SOFTWARE\Policies`: no
 * Sealpost subkey there means no policy; one there means the key exists but could not be read,
 * which is refused. Anything else reg.exe does (other exit codes, a timeout, output larger
 * than the policy file may be, reg.exe missing or blocked) is refused with what happened.
 *
 * reg.exe prints through the console code page, which changes every character outside ASCII
 * (to another byte, or to "?"). Output bytes outside ASCII are refused, naming the value; in
 * the Policy JSON write such characters as \u escapes. Two limits of reg.exe's text format:
 * a REG_MULTI_SZ line that itself contains the two characters `\0` cannot be told from two
 * lines, and a REG_SZ holding a line break is refused (its second line is not a value line).
 */
import { execFile } from 'node:child_process';
import { win32 } from 'node:path';

import { HispError, LOCKABLE_SETTING_LIST } from '../api/index.js';

/** The policy key, as named in messages, the log and docs/deployment.md. */
export const POLICY_REGISTRY_KEY = 'HKLM\\SOFTWARE\\Policies\\Sealpost';
/** Its parent, listed when reg.exe's "not found" message is not in English. */
const POLICIES_KEY = 'HKLM\\SOFTWARE\\Policies';
/** How reg.exe spells the root in its output. */
const LONG_ROOT = 'HKEY_LOCAL_MACHINE\\';

/** Longest reg.exe may run: it answers in milliseconds, but a cold start under antivirus is slow. */
export const REG_TIMEOUT_MS = 15_000;
/** Most reg.exe output read: the policy file's 4 MiB, and room for the other values' lines. */
export const REG_OUTPUT_MAX_BYTES = 4 * 1024 * 1024 + 64 * 1024;

/** What a command printed and how it ended. A non-zero exit is a result, not a rejection. */
export interface CommandOutput {
  readonly exitCode: number;
  readonly stdout: Buffer | string;
  readonly stderr: Buffer | string;
}

export interface CommandLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/**
 * Runs `file` with `args` (no shell). Resolves with the exit code and output; rejects when the
 * command cannot be started, or with a CommandLimitError when it ran out of time or output.
 */
export type RunCommand = (
  file: string,
  args: readonly string[],
  limits: CommandLimits,
) => Promise<CommandOutput>;

/** The command was stopped: it ran longer than the timeout, or printed more than allowed. */
export class CommandLimitError extends Error {
  override readonly name = 'CommandLimitError';
  constructor(
    readonly limit: 'timeout' | 'output',
    message: string,
  ) {
    super(message);
  }
}

/** The real runner: child_process.execFile, no shell, no window, the limits enforced by Node. */
export const execFileRunner: RunCommand = (file, args, limits) =>
  new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        encoding: 'buffer',
        shell: false,
        windowsHide: true,
        timeout: limits.timeoutMs,
        maxBuffer: limits.maxBytes,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ exitCode: 0, stdout, stderr });
          return;
        }
        const failure = error as NodeJS.ErrnoException & {
          code?: unknown;
          killed?: boolean;
          signal?: NodeJS.Signals | null;
        };
        if (failure.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          reject(new CommandLimitError('output', `printed more than ${limits.maxBytes} bytes`));
        } else if (failure.killed === true && typeof failure.signal === 'string') {
          reject(new CommandLimitError('timeout', `did not finish in ${limits.timeoutMs} ms`));
        } else if (typeof failure.code === 'number') {
          resolve({ exitCode: failure.code, stdout, stderr });
        } else {
          reject(failure);
        }
      },
    );
  });

/** reg.exe's types. Only the first four are ever accepted; the others are named in refusals. */
export type RegistryValueType =
  | 'REG_SZ'
  | 'REG_EXPAND_SZ'
  | 'REG_MULTI_SZ'
  | 'REG_DWORD'
  | 'REG_QWORD'
  | 'REG_BINARY'
  | 'REG_NONE'
  | 'REG_DWORD_BIG_ENDIAN'
  | 'REG_LINK'
  | 'REG_RESOURCE_LIST'
  | 'REG_FULL_RESOURCE_DESCRIPTOR'
  | 'REG_RESOURCE_REQUIREMENTS_LIST';

const VALUE_TYPES: ReadonlySet<string> = new Set<RegistryValueType>([
  'REG_SZ',
  'REG_EXPAND_SZ',
  'REG_MULTI_SZ',
  'REG_DWORD',
  'REG_QWORD',
  'REG_BINARY',
  'REG_NONE',
  'REG_DWORD_BIG_ENDIAN',
  'REG_LINK',
  'REG_RESOURCE_LIST',
  'REG_FULL_RESOURCE_DESCRIPTOR',
  'REG_RESOURCE_REQUIREMENTS_LIST',
]);

/** The types Sealpost never reads; kept as reg.exe printed them, to name them in refusals. */
type OtherValueType = Exclude<
  RegistryValueType,
  'REG_SZ' | 'REG_EXPAND_SZ' | 'REG_MULTI_SZ' | 'REG_DWORD'
>;

/** One value as reg.exe printed it, its data decoded by type. */
export type RegistryValue =
  | { readonly name: string; readonly type: 'REG_SZ' | 'REG_EXPAND_SZ'; readonly data: string }
  | { readonly name: string; readonly type: 'REG_MULTI_SZ'; readonly data: readonly string[] }
  | { readonly name: string; readonly type: 'REG_DWORD'; readonly data: number }
  | { readonly name: string; readonly type: OtherValueType; readonly data: string };

/** A key as `reg query` (without /s) lists it: its values, and its subkeys' full names. */
export interface RegistryListing {
  readonly values: readonly RegistryValue[];
  readonly subkeys: readonly string[];
}

/** `HKLM\...` as reg.exe prints it: `HKEY_LOCAL_MACHINE\...`. */
function longName(key: string): string {
  return key.replace(/^HKLM\\/i, LONG_ROOT);
}

/** `HKEY_LOCAL_MACHINE\...` as the messages name it: `HKLM\...`. */
function shortName(key: string): string {
  return key.startsWith(LONG_ROOT) ? `HKLM\\${key.slice(LONG_ROOT.length)}` : key;
}

function refused(where: string, problem: string): HispError {
  return new HispError(
    'USAGE',
    `The registry policy ${where} was refused: ${problem}. See docs/deployment.md.`,
  );
}

/** Text from a runner's output, byte for byte (latin1), so bytes outside ASCII stay visible. */
function asText(output: Buffer | string): string {
  return typeof output === 'string' ? output : output.toString('latin1');
}

// Four spaces, the name (which may hold spaces, just not four in a row), four spaces, the
// type, and the data after four more spaces; with empty data those last spaces may be
// missing, so both forms are read.
const VALUE_LINE = /^ {4}(.+?) {4}(REG_[A-Z_]+)(?: {4}(.*)| *)$/;
const DWORD_DATA = /^0x[0-9a-f]{1,8}$/i;

/**
 * Parses the output of `reg query <key>` (no /s) for `key` (`HKLM\...`). Anything that is not
 * blank, the key's own line, a value line under it or a subkey of it is refused: this is
 * reg.exe's documented layout, and anything else means the output cannot be trusted.
 */
export function parseRegQueryOutput(output: string, key: string): RegistryListing {
  const header = longName(key).toLowerCase();
  const values: RegistryValue[] = [];
  const subkeys: string[] = [];
  let inKey = false;
  const lines = output.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    if (line.toLowerCase() === header) {
      inKey = true;
      continue;
    }
    if (line.toLowerCase().startsWith(`${header}\\`)) {
      subkeys.push(line);
      continue;
    }
    const match = inKey ? VALUE_LINE.exec(line) : null;
    if (match === null) {
      throw refused(
        key,
        `reg.exe printed a line Sealpost does not understand (line ${index + 1}; a value holding a line break does this)`,
      );
    }
    const [, name = '', type = '', raw = ''] = match;
    const where = `${key}\\${name}`;
    if (/[^\x20-\x7e\t]/.test(raw) || /[^\x20-\x7e]/.test(name)) {
      throw refused(
        where,
        'it holds characters outside ASCII, which reg.exe does not pass on unchanged; in the Policy JSON write them as \\u escapes',
      );
    }
    if (!VALUE_TYPES.has(type)) throw refused(where, `reg.exe printed an unknown type ${type}`);
    switch (type) {
      case 'REG_SZ':
      case 'REG_EXPAND_SZ':
        values.push({ name, type, data: raw });
        break;
      case 'REG_MULTI_SZ':
        values.push({ name, type, data: raw === '' ? [] : raw.split('\\0') });
        break;
      case 'REG_DWORD':
        if (!DWORD_DATA.test(raw))
          throw refused(where, 'reg.exe printed a REG_DWORD that is not 0x…');
        values.push({ name, type, data: Number.parseInt(raw.slice(2), 16) });
        break;
      default:
        values.push({ name, type: type as OtherValueType, data: raw });
    }
  }
  if (!inKey && (values.length > 0 || subkeys.length > 0 || output.trim() !== '')) {
    throw refused(key, 'reg.exe did not print the key it was asked for');
  }
  return { values, subkeys };
}

/** What the policy key holds, mapped to policy keys but not yet checked by the schema. */
export interface RegistryPolicy {
  /** `HKLM\SOFTWARE\Policies\Sealpost`. */
  readonly key: string;
  /** The Policy value's JSON text, and the value's full name for messages. */
  readonly document?: { readonly text: string; readonly source: string };
  /** The scalar values, each already checked for type and range. */
  readonly overrides: {
    autoUpdate?: boolean;
    autoLockMinutes?: number;
    lockedSettings?: (typeof LOCKABLE_SETTING_LIST)[number][];
  };
}

/** The value names Sealpost reads, keyed by their lower-case form (the registry ignores case). */
const KNOWN_VALUES = {
  policy: 'Policy',
  autoupdate: 'AutoUpdate',
  autolockminutes: 'AutoLockMinutes',
  lockedsettings: 'LockedSettings',
} as const;

/** The same bounds as the policy file's `autoLockMinutes` (hisp/host/policy.ts). */
const AUTO_LOCK_MAX_MINUTES = 1440;

function wrongType(where: string, value: RegistryValue, wanted: string): HispError {
  return refused(where, `it is ${value.type}; Sealpost reads it only as ${wanted}`);
}

/**
 * Maps the key's values to a policy document: undefined when there is no value and no subkey
 * (no registry policy), a HispError USAGE naming the value for anything Sealpost does not read.
 */
export function registryPolicyFromListing(
  listing: RegistryListing,
  key: string = POLICY_REGISTRY_KEY,
): RegistryPolicy | undefined {
  if (listing.subkeys.length > 0) {
    const first = shortName(listing.subkeys[0] ?? '');
    throw refused(
      first,
      'it is a subkey, and Sealpost reads only the values of its own key (LockedSettings is one REG_MULTI_SZ value, not a list subkey)',
    );
  }
  // An unset default value, as some reg.exe versions list it.
  const values = listing.values.filter(
    (value) =>
      !(
        value.name === '(Default)' &&
        value.type === 'REG_SZ' &&
        /^(\(value not set\))?$/.test(value.data)
      ),
  );
  if (values.length === 0) return undefined;
  const overrides: RegistryPolicy['overrides'] = {};
  let document: RegistryPolicy['document'];
  for (const value of values) {
    const where = `${key}\\${value.name}`;
    const known = (KNOWN_VALUES as Record<string, string | undefined>)[value.name.toLowerCase()];
    if (known === undefined) {
      throw refused(
        where,
        `unknown value (Sealpost reads ${Object.values(KNOWN_VALUES).join(', ')})`,
      );
    }
    switch (known) {
      case 'Policy':
        if (value.type === 'REG_SZ') document = { text: value.data, source: where };
        else if (value.type === 'REG_MULTI_SZ')
          document = { text: value.data.join('\n'), source: where };
        else throw wrongType(where, value, 'REG_SZ or REG_MULTI_SZ (the JSON of the policy file)');
        break;
      case 'AutoUpdate':
        if (value.type !== 'REG_DWORD') throw wrongType(where, value, 'REG_DWORD 0 or 1');
        if (value.data > 1)
          throw refused(where, `it is ${value.data}; only 0 (off) or 1 (on) is read`);
        overrides.autoUpdate = value.data === 1;
        break;
      case 'AutoLockMinutes':
        if (value.type !== 'REG_DWORD')
          throw wrongType(where, value, `REG_DWORD 0 to ${AUTO_LOCK_MAX_MINUTES}`);
        if (value.data > AUTO_LOCK_MAX_MINUTES) {
          throw refused(
            where,
            `it is ${value.data}; at most ${AUTO_LOCK_MAX_MINUTES} minutes (0 = never) is read`,
          );
        }
        overrides.autoLockMinutes = value.data;
        break;
      case 'LockedSettings': {
        if (value.type !== 'REG_MULTI_SZ')
          throw wrongType(where, value, 'REG_MULTI_SZ, one setting a line');
        const locked: (typeof LOCKABLE_SETTING_LIST)[number][] = [];
        for (const [index, line] of value.data.entries()) {
          const setting = line.trim();
          if (setting === '') continue;
          const lockable = LOCKABLE_SETTING_LIST.find((candidate) => candidate === setting);
          if (lockable === undefined) {
            throw refused(
              where,
              `line ${index + 1} is not a setting Sealpost can lock (${LOCKABLE_SETTING_LIST.join(', ')})`,
            );
          }
          if (!locked.includes(lockable)) locked.push(lockable);
        }
        overrides.lockedSettings = locked;
        break;
      }
    }
  }
  return document === undefined ? { key, overrides } : { key, document, overrides };
}

/** `%SystemRoot%\System32\reg.exe`, never whatever `reg.exe` is first on the PATH. */
export function regExePath(env: Readonly<Record<string, string | undefined>> = {}): string {
  const root = env['SystemRoot'] ?? env['SYSTEMROOT'] ?? env['windir'] ?? env['WINDIR'];
  const base = root !== undefined && win32.isAbsolute(root) ? root : 'C:\\Windows';
  return win32.join(base, 'System32', 'reg.exe');
}

export interface ReadRegistryPolicyOptions {
  /** How reg.exe is run; execFileRunner unless a test gives another. */
  readonly run?: RunCommand | undefined;
  /** For %SystemRoot%. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const LIMITS: CommandLimits = { timeoutMs: REG_TIMEOUT_MS, maxBytes: REG_OUTPUT_MAX_BYTES };

/** The first line reg.exe wrote to stderr, for messages (it names no value data). */
function firstLine(output: Buffer | string): string {
  const line =
    asText(output)
      .split(/\r?\n/)
      .find((candidate) => candidate.trim() !== '') ?? '';
  return (
    line
      .trim()
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 200) || 'no message'
  );
}

async function regQuery(key: string, options: ReadRegistryPolicyOptions): Promise<CommandOutput> {
  const run = options.run ?? execFileRunner;
  const exe = regExePath(options.env);
  let output: CommandOutput;
  try {
    output = await run(exe, ['query', key, '/reg:64'], LIMITS);
  } catch (error) {
    const why =
      error instanceof CommandLimitError
        ? error.limit === 'timeout'
          ? `reg.exe did not answer in ${REG_TIMEOUT_MS / 1000} s`
          : `reg.exe printed more than ${REG_OUTPUT_MAX_BYTES} bytes`
        : `reg.exe could not be run (${errorCode(error) ?? (error instanceof Error ? error.message : 'error')})`;
    throw new HispError(
      'USAGE',
      `The registry policy ${key} could not be read: ${why}. Sealpost does not start without knowing the policy. See docs/deployment.md.`,
      { cause: error },
    );
  }
  const size = Buffer.byteLength(asText(output.stdout), 'latin1');
  if (size > REG_OUTPUT_MAX_BYTES) {
    throw new HispError(
      'USAGE',
      `The registry policy ${key} could not be read: reg.exe printed ${size} bytes; at most ${REG_OUTPUT_MAX_BYTES} are read. See docs/deployment.md.`,
    );
  }
  return output;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Reads `HKLM\SOFTWARE\Policies\Sealpost` with reg.exe: undefined when there is no registry
 * policy (no key, or a key without values), the mapped values when there is, and a HispError
 * USAGE when it cannot be read or holds something Sealpost does not read.
 */
export async function readRegistryPolicy(
  options: ReadRegistryPolicyOptions = {},
): Promise<RegistryPolicy | undefined> {
  const key = POLICY_REGISTRY_KEY;
  const output = await regQuery(key, options);
  if (output.exitCode === 0) {
    return registryPolicyFromListing(parseRegQueryOutput(asText(output.stdout), key), key);
  }
  const message = firstLine(output.stderr);
  if (output.exitCode === 1) {
    if (/unable to find the specified registry key/i.test(asText(output.stderr))) return undefined;
    // Another language's message: ask the parent whether the key is there at all.
    const parent = await regQuery(POLICIES_KEY, options);
    if (parent.exitCode === 0 && !listsSubkey(asText(parent.stdout), key)) {
      return undefined;
    }
  }
  throw new HispError(
    'USAGE',
    `The registry policy ${key} could not be read: reg.exe exited with ${output.exitCode} (${message}). Sealpost does not start without knowing the policy. See docs/deployment.md.`,
  );
}

/** Whether `reg query <parent>` output lists `child` as a subkey (only such lines are looked at). */
function listsSubkey(output: string, child: string): boolean {
  const wanted = longName(child).toLowerCase();
  return output.split(/\r?\n/).some((line) => line.trim().toLowerCase() === wanted);
}
