/**
 * The machine-wide policy file that a practice's IT staff control: presets for the relay and
 * upstream mail servers, trust bundles and trust anchors, automatic updates off, and the
 * settings a user may not change ("managed by your organisation" in the UI).
 *
 * Node only (no `electron` import), so the main process and the HISP can both read it and it is
 * unit-tested in plain Node. main reads it first and refuses to start on a bad one; the HISP
 * (hisp/host/preferences.ts) applies it: presets, locks, trust. Documented for IT in
 * docs/deployment.md.
 *
 *   Linux    /etc/sealpost/policy.json
 *   Windows  %ProgramData%\Sealpost\policy.json, or the registry key below
 *   macOS    /Library/Application Support/Sealpost/policy.json
 *
 * On Windows, `HKLM\SOFTWARE\Policies\Sealpost` (Group Policy, Intune; read by
 * hisp/host/policyRegistry.ts) comes first: when that key has values it is the policy, and a
 * policy file that is also there is ignored (loadMachinePolicy says so, and the log line
 * too). One source, never a merge of both: IT can tell from the log which one is in force.
 * loadMachinePolicy is the one loader the main process and the HISP both call.
 *
 * Rules: no file means no policy (every default, nothing locked). A file that is there must be
 * exactly right: unknown keys, wrong types, a file that cannot be read or is not JSON are each
 * a HispError naming the file and the key, never silently ignored, because a policy that is
 * half-applied could leave unlocked what IT meant to lock. Keys left out keep their defaults.
 * No secrets: the file is readable by every user of the machine, so a server preset names
 * the account at most, and each user enters the password.
 */
import { readFile } from 'node:fs/promises';
import { win32 } from 'node:path';
import { z } from 'zod';

import { calls, HispError, LOCKABLE_SETTING_LIST } from '../api/index.js';
import { POLICY_REGISTRY_KEY, readRegistryPolicy } from './policyRegistry.js';
import type { RegistryPolicy, RunCommand } from './policyRegistry.js';

/** Largest policy file read: far above any real one (anchors are referenced, not inlined, in most). */
export const POLICY_MAX_BYTES = 4 * 1024 * 1024;

/** The settings IT can lock. Each one locked is shown as "managed by your organisation". */
export const LOCKABLE_SETTINGS = LOCKABLE_SETTING_LIST;
export type LockableSetting = (typeof LOCKABLE_SETTINGS)[number];

const HostSchema = z.string().min(1).max(253);
const PortSchema = z.number().int().min(1).max(65_535);
const SecureSchema = z.enum(['starttls', 'implicit']);
/** An account name, never a password (see the module comment). */
const UserSchema = z.string().min(1).max(256);

const SmarthostSchema = z.strictObject({
  host: HostSchema,
  port: PortSchema,
  secure: SecureSchema,
  user: UserSchema.optional(),
});

const MxSchema = z.strictObject({
  /** Domains whose MX hosts may be used without TLS (everyone else needs it). */
  exceptions: z.array(HostSchema).max(1000).default([]),
});

/** Exactly one of `smarthost` or `mx`, as in `sealpost serve --config`. */
const RelaySchema = z.union([
  z.strictObject({ smarthost: SmarthostSchema }),
  z.strictObject({ mx: MxSchema }),
]);

const UpstreamSchema = z.strictObject({
  host: HostSchema,
  port: PortSchema,
  secure: SecureSchema,
  user: UserSchema.optional(),
  mailbox: z.string().min(1).max(256).optional(),
});

/** The same fields as the `addBundle` call of the contract, so the HISP applies them as such. */
const BundlePresetSchema = calls.addBundle.params;
/** The same fields as the `importAnchors` call: `certificates` is PEM text or base64 DER. */
const AnchorPresetSchema = calls.importAnchors.params;

const TrustSchema = z.strictObject({
  bundles: z.array(BundlePresetSchema).max(100).default([]),
  anchors: z.array(AnchorPresetSchema).max(1000).default([]),
});

/** Delivery notification presets: the same fields as Settings › Mail server and preferences. */
const DeliveryPresetSchema = z.strictObject({
  timeoutHours: z.number().min(0.05).max(720).optional(),
  requestDispatched: z.boolean().optional(),
  silenceAlertHours: z.number().min(0).max(720).optional(),
});

/** The file's schema. Every key optional; what is left out keeps its default. */
export const PolicySchema = z.strictObject({
  /** The schema version this file was written for. Only 1 exists. */
  version: z.literal(1).default(1),
  relay: RelaySchema.optional(),
  upstream: UpstreamSchema.optional(),
  trust: TrustSchema.default({ bundles: [], anchors: [] }),
  delivery: DeliveryPresetSchema.optional(),
  /** Minutes without use before Sealpost locks (0 = never). */
  autoLockMinutes: z.number().int().min(0).max(1440).optional(),
  /** false: Sealpost never checks for or installs updates on its own. */
  autoUpdate: z.boolean().default(true),
  lockedSettings: z.array(z.enum(LOCKABLE_SETTINGS)).max(LOCKABLE_SETTINGS.length).default([]),
});

/** A policy as read, defaults filled in. */
export type Policy = z.output<typeof PolicySchema>;

/** What applies when there is no policy file. */
export const DEFAULT_POLICY: Policy = PolicySchema.parse({});

/** A policy and where it was read from. */
export interface LoadedPolicy {
  readonly policy: Policy;
  /** The policy file's path, or the registry key (`HKLM\SOFTWARE\Policies\Sealpost`). */
  readonly path: string;
  /** false: there was no policy, so DEFAULT_POLICY applies. */
  readonly found: boolean;
  /** Something IT should know, such as a policy file left unread because the registry won. */
  readonly note?: string;
}

/**
 * The policy file's path on `platform`. On Windows it follows %ProgramData% (the system
 * drive's ProgramData when unset); the registry key, when it has values, takes precedence over
 * it (loadMachinePolicy).
 */
export function policyPath(
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>> = {},
): string {
  if (platform === 'win32') {
    const programData = env['ProgramData'] ?? env['PROGRAMDATA'];
    const base =
      programData !== undefined && win32.isAbsolute(programData)
        ? programData
        : `${env['SystemDrive'] ?? 'C:'}\\ProgramData`;
    return win32.join(base, 'Sealpost', 'policy.json');
  }
  if (platform === 'darwin') return '/Library/Application Support/Sealpost/policy.json';
  // Linux and the other Unixes.
  return '/etc/sealpost/policy.json';
}

function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'the top level' : out;
}

/** One sentence per problem, naming the key, in the order zod found them. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = describePath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
      const secret = issue.keys.some((key) => /pass|secret|token/i.test(key))
        ? ' (passwords never go in the policy file: every user of the machine can read it; each user enters their own)'
        : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keys} in ${where}${secret}`;
    }
    if (issue.code === 'invalid_union') {
      return `${where}: must be exactly one of { "smarthost": {...} } or { "mx": {...} }, each with only its own keys`;
    }
    return `${where}: ${issue.message}`;
  });
}

/**
 * JSON.parse of a policy document that must be one object; `subject` starts each message
 * ("The policy file /etc/sealpost/policy.json"). Throws HispError USAGE.
 */
function parsePolicyObject(text: string, subject: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HispError(
      'USAGE',
      `${subject} is not valid JSON (${error instanceof Error ? error.message : 'parse error'}).`,
      { cause: error },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HispError('USAGE', `${subject} must hold one JSON object.`);
  }
  return json as Record<string, unknown>;
}

/** Checks a parsed document against PolicySchema, listing every problem. Throws HispError USAGE. */
function checkPolicy(json: unknown, subject: string): Policy {
  const result = PolicySchema.safeParse(json);
  if (!result.success) {
    const problems = describeIssues(result.error);
    throw new HispError(
      'USAGE',
      `${subject} was refused: ${problems.join('; ')}. See docs/deployment.md.`,
    );
  }
  return result.data;
}

/** Parses the text of a policy file; `source` names it in errors. Throws HispError USAGE. */
export function parsePolicy(text: string, source: string): Policy {
  const subject = `The policy file ${source}`;
  return checkPolicy(parsePolicyObject(text, subject), subject);
}

/**
 * The policy the registry key holds (read by policyRegistry.ts): the Policy value's JSON, then
 * the scalar values on top of it, each key they set replacing the document's. The document is
 * checked on its own first, so a scalar value never hides a mistake in the JSON. Throws
 * HispError USAGE naming the value.
 */
export function policyFromRegistry(registry: RegistryPolicy): Policy {
  let document: Record<string, unknown> = {};
  if (registry.document !== undefined) {
    const subject = `The registry value ${registry.document.source}`;
    document = parsePolicyObject(registry.document.text, subject);
    checkPolicy(document, subject);
  }
  return checkPolicy({ ...document, ...registry.overrides }, `The registry policy ${registry.key}`);
}

/** How the file is read; a parameter so tests can make a read fail. */
export type ReadPolicyFile = (path: string) => Promise<Buffer>;

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Reads the policy at `path`: DEFAULT_POLICY when there is no file, the parsed policy when
 * there is, and a HispError USAGE naming the file when it cannot be read or is wrong.
 */
export async function loadPolicy(
  path: string,
  read: ReadPolicyFile = (file) => readFile(file),
): Promise<LoadedPolicy> {
  let bytes: Buffer;
  try {
    bytes = await read(path);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { policy: DEFAULT_POLICY, path, found: false };
    }
    throw new HispError(
      'USAGE',
      `The policy file ${path} exists but could not be read (${code ?? 'read error'}). Make it readable by every user (it holds no secrets).`,
      { cause: error },
    );
  }
  if (bytes.length > POLICY_MAX_BYTES) {
    throw new HispError(
      'USAGE',
      `The policy file ${path} is ${bytes.length} bytes; at most ${POLICY_MAX_BYTES} are read.`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new HispError('USAGE', `The policy file ${path} is not UTF-8 text.`, { cause: error });
  }
  // Notepad writes a byte-order mark; JSON.parse does not accept one.
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  return { policy: parsePolicy(text, path), path, found: true };
}

export interface MachinePolicyOptions {
  /** process.platform unless a test says otherwise. */
  readonly platform?: NodeJS.Platform;
  /** process.env: %ProgramData% and %SystemRoot% on Windows. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How the policy file is read. */
  readonly readFile?: ReadPolicyFile;
  /** How reg.exe is run (Windows only). */
  readonly runCommand?: RunCommand;
  /**
   * Read this policy file and nothing else: no registry, not the path of the OS (the HISP's
   * `--policy-file`, used by tests). A file that is not there still means no policy.
   */
  readonly file?: string;
}

/**
 * The machine's policy, from wherever it is for this OS. On Windows the registry key when it
 * has values (a policy file also there is left unread, and `note` says so), else the file at
 * policyPath(); elsewhere the file. Throws HispError USAGE for a policy that is there but
 * cannot be read or is wrong, in either place: Sealpost does not start on a guess.
 */
export async function loadMachinePolicy(options: MachinePolicyOptions = {}): Promise<LoadedPolicy> {
  const read = options.readFile ?? ((file: string) => readFile(file));
  if (options.file !== undefined) return loadPolicy(options.file, read);
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const path = policyPath(platform, env);
  if (platform !== 'win32') return loadPolicy(path, read);
  const registry = await readRegistryPolicy({ run: options.runCommand, env });
  if (registry === undefined) {
    const loaded = await loadPolicy(path, read);
    return loaded.found
      ? loaded
      : { ...loaded, note: `no registry policy at ${POLICY_REGISTRY_KEY} either` };
  }
  const policy = policyFromRegistry(registry);
  const fileThere = await read(path).then(
    () => true,
    (error: unknown) => {
      const code = errnoCode(error);
      return code !== 'ENOENT' && code !== 'ENOTDIR';
    },
  );
  return {
    policy,
    path: registry.key,
    found: true,
    ...(fileThere
      ? {
          note: `the policy file ${path} is also there and was ignored: the registry policy takes precedence`,
        }
      : {}),
  };
}

/** Whether IT locked `setting`. */
export function isLocked(policy: Policy, setting: LockableSetting): boolean {
  return policy.lockedSettings.includes(setting);
}

/** A one-line summary for the log: what is set, never a host or account name. */
export function describePolicyForLog(loaded: LoadedPolicy): string {
  const note = loaded.note === undefined ? '' : `; ${loaded.note}`;
  if (!loaded.found) return `no policy file at ${loaded.path}${note}: defaults apply`;
  const { policy } = loaded;
  const parts = [
    policy.relay === undefined ? undefined : 'relay preset',
    policy.upstream === undefined ? undefined : 'upstream preset',
    policy.delivery === undefined ? undefined : 'delivery preset',
    policy.autoLockMinutes === undefined ? undefined : `auto-lock ${policy.autoLockMinutes} min`,
    `${policy.trust.bundles.length} trust bundle(s)`,
    `${policy.trust.anchors.length} anchor set(s)`,
    `automatic updates ${policy.autoUpdate ? 'on' : 'off'}`,
    `locked: ${policy.lockedSettings.length === 0 ? 'nothing' : policy.lockedSettings.join(', ')}`,
  ].filter((part): part is string => part !== undefined);
  return `policy ${loaded.path}: ${parts.join(', ')}${note}`;
}
