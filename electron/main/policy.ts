/**
 * The machine-wide policy file that a practice's IT staff control: presets for the relay and
 * upstream mail servers, trust bundles and trust anchors, automatic updates off, and the
 * settings a user may not change ("managed by your organisation" in the UI).
 *
 * Node only (no `electron` import), so the main process and the HISP can both read it and it is
 * unit-tested in plain Node. Documented for IT in docs/deployment.md.
 *
 *   Linux    /etc/sealpost/policy.json
 *   Windows  %ProgramData%\Sealpost\policy.json
 *   macOS    /Library/Application Support/Sealpost/policy.json
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

import { calls, HispError } from '../../hisp/api/index.js';

/** Largest policy file read: far above any real one (anchors are referenced, not inlined, in most). */
export const POLICY_MAX_BYTES = 4 * 1024 * 1024;

/** The settings IT can lock. Each one locked is shown as "managed by your organisation". */
export const LOCKABLE_SETTINGS = [
  'relay',
  'upstream',
  'trustBundles',
  'trustAnchors',
  'autoUpdate',
] as const;
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

/** The file's schema. Every key optional; what is left out keeps its default. */
export const PolicySchema = z.strictObject({
  /** The schema version this file was written for. Only 1 exists. */
  version: z.literal(1).default(1),
  relay: RelaySchema.optional(),
  upstream: UpstreamSchema.optional(),
  trust: TrustSchema.default({ bundles: [], anchors: [] }),
  /** false: Sealpost never checks for or installs updates on its own. */
  autoUpdate: z.boolean().default(true),
  lockedSettings: z.array(z.enum(LOCKABLE_SETTINGS)).max(LOCKABLE_SETTINGS.length).default([]),
});

/** A policy as read, defaults filled in. */
export type Policy = z.output<typeof PolicySchema>;

/** What applies when there is no policy file. */
export const DEFAULT_POLICY: Policy = PolicySchema.parse({});

/** Where a policy was read from (undefined: there was no file, so DEFAULT_POLICY applies). */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly path: string;
  readonly found: boolean;
}

/**
 * The policy file's path on `platform`. On Windows it follows %ProgramData% (the system
 * drive's ProgramData when unset). The registry equivalent (HKLM\Software\Policies\Sealpost)
 * is documented in docs/deployment.md but not read yet.
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

/** Parses the text of a policy file; `source` names it in errors. Throws HispError USAGE. */
export function parsePolicy(text: string, source: string): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HispError(
      'USAGE',
      `The policy file ${source} is not valid JSON (${error instanceof Error ? error.message : 'parse error'}).`,
      { cause: error },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HispError('USAGE', `The policy file ${source} must hold one JSON object.`);
  }
  const result = PolicySchema.safeParse(json);
  if (!result.success) {
    const problems = describeIssues(result.error);
    throw new HispError(
      'USAGE',
      `The policy file ${source} was refused: ${problems.join('; ')}. See docs/deployment.md.`,
    );
  }
  return result.data;
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

/** Whether IT locked `setting`. */
export function isLocked(policy: Policy, setting: LockableSetting): boolean {
  return policy.lockedSettings.includes(setting);
}

/** A one-line summary for the log: what is set, never a host or account name. */
export function describePolicyForLog(loaded: LoadedPolicy): string {
  if (!loaded.found) return `no policy file at ${loaded.path}: defaults apply`;
  const { policy } = loaded;
  const parts = [
    policy.relay === undefined ? undefined : 'relay preset',
    policy.upstream === undefined ? undefined : 'upstream preset',
    `${policy.trust.bundles.length} trust bundle(s)`,
    `${policy.trust.anchors.length} anchor set(s)`,
    `automatic updates ${policy.autoUpdate ? 'on' : 'off'}`,
    `locked: ${policy.lockedSettings.length === 0 ? 'nothing' : policy.lockedSettings.join(', ')}`,
  ].filter((part): part is string => part !== undefined);
  return `policy ${loaded.path}: ${parts.join(', ')}`;
}
