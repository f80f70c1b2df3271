/**
 * The mail configuration of `sealpost serve --config FILE`: a JSON file the practice's IT
 * staff write. Checked by hand (this path carries no schema library) with a usage error that
 * names the bad key; unknown keys are refused. Secrets are never inline: every password is
 * `env:NAME` or `file:PATH`, like `--pass`. Relative paths are relative to the file.
 *
 * ```json
 * {
 *   "inbound": { "listen": "HOST:PORT", "tlsCert": "path", "tlsKey": "path", "maxBytes": 67108864 },
 *   "relay": { "smarthost": { "host": "…", "port": 587, "secure": "starttls", "user": "…",
 *                             "pass": "env:NAME", "ca": "path" } },
 *   "relay": { "mx": { "tlsRequired": true, "exceptions": ["legacy.example"], "port": 25 } },
 *   "upstream": { "host": "…", "port": 993, "secure": "implicit", "user": "…", "pass": "file:PATH",
 *                 "ca": "path", "mailbox": "INBOX", "afterStore": "move", "moveTo": "Sealpost" },
 *   "submission": { "listen": "127.0.0.1:PORT", "tlsCert": "path", "tlsKey": "path",
 *                   "user": "…", "pass": "env:NAME" },
 *   "dns": ["HOST:PORT"],
 *   "silenceAlertHours": 24,
 *   "deliveryTimeoutHours": 1,
 *   "requestDispatched": true
 * }
 * ```
 */
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isLoopbackHost } from '../host/loopback.js';
import { splitHostPort } from './args.js';
import { readInputFile } from './files.js';
import { UsageError } from './io.js';

const COMMAND = 'serve';
const CONFIG_BYTES = 64 * 1024;
const PEM_BYTES = 1024 * 1024;
const SECRET_BYTES = 64 * 1024;
/** Inbound SMTP size limit when the file gives none. */
export const DEFAULT_INBOUND_MAX_BYTES = 64 * 1024 * 1024;
const MAX_INBOUND_BYTES = 1024 * 1024 * 1024;

export type Secure = 'starttls' | 'implicit';
export type AfterStore = 'keep' | 'flag' | 'move' | 'delete';

export interface Listen {
  readonly host: string;
  readonly port: number;
}

/** Direct delivery to each recipient domain's MX hosts. */
export interface MxRelay {
  readonly kind: 'mx';
  /** Domains whose MX hosts may be used without TLS (risk-3: everyone else needs it). */
  readonly exceptions: readonly string[];
  /**
   * The SMTP port of every MX host, for tests and labs: production MX is port 25 (the
   * default), since MX records carry no port.
   */
  readonly port?: number;
}

/** A secret as the file names it: `env:NAME` or `file:PATH` (path resolved). */
export type SecretSpec = { readonly env: string } | { readonly file: string };

/** The file as checked: paths resolved, secrets still named (nothing read yet). */
export interface ServeConfigSpec {
  readonly inbound?: {
    readonly listen: Listen;
    readonly tlsCert: string;
    readonly tlsKey: string;
    readonly maxBytes: number;
  };
  readonly relay?:
    | {
        readonly kind: 'smarthost';
        readonly host: string;
        readonly port: number;
        readonly secure: Secure;
        readonly user?: string;
        readonly pass?: SecretSpec;
        readonly ca?: string;
      }
    | MxRelay;
  readonly upstream?: {
    readonly host: string;
    readonly port: number;
    readonly secure: Secure;
    readonly user: string;
    readonly pass: SecretSpec;
    readonly ca?: string;
    readonly mailbox?: string;
    readonly afterStore: AfterStore;
    readonly moveTo?: string;
  };
  readonly submission?: {
    readonly listen: Listen;
    readonly tlsCert: string;
    readonly tlsKey: string;
    readonly user: string;
    readonly pass: SecretSpec;
  };
  readonly dns?: readonly Listen[];
  /** Alert when no inbound Direct message arrived for this long (risk-5). */
  readonly silenceAlertHours?: number;
  /** Hours to wait for a recipient's `processed` notification before "timed out" (default 1). */
  readonly deliveryTimeoutHours?: number;
  /** Ask for `dispatched` notifications too (timely and reliable delivery; default true). */
  readonly requestDispatched?: boolean;
}

export interface Tls {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** The configuration with files and secrets read: what the mail service runs on. */
export interface ServeConfig {
  readonly inbound?: { readonly listen: Listen; readonly tls: Tls; readonly maxBytes: number };
  readonly relay?:
    | {
        readonly kind: 'smarthost';
        readonly host: string;
        readonly port: number;
        readonly secure: Secure;
        readonly auth?: { readonly user: string; readonly pass: string };
        readonly ca?: Buffer;
      }
    | MxRelay;
  readonly upstream?: {
    readonly host: string;
    readonly port: number;
    readonly secure: Secure;
    readonly user: string;
    readonly pass: string;
    readonly ca?: Buffer;
    readonly mailbox?: string;
    readonly afterStore: AfterStore;
    readonly moveTo?: string;
  };
  readonly submission?: {
    readonly listen: Listen;
    readonly tls: Tls;
    readonly user: string;
    readonly pass: string;
  };
  readonly dns?: readonly Listen[];
  /** Alert when no inbound Direct message arrived for this long (risk-5). */
  readonly silenceAlertHours?: number;
  /** Hours to wait for a recipient's `processed` notification before "timed out" (default 1). */
  readonly deliveryTimeoutHours?: number;
  /** Ask for `dispatched` notifications too (timely and reliable delivery; default true). */
  readonly requestDispatched?: boolean;
}

type Json = Record<string, unknown>;

function bad(key: string, message: string): UsageError {
  return new UsageError(COMMAND, `--config: "${key}" ${message}`);
}

function object(value: unknown, key: string, allowed: readonly string[]): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(key, 'must be an object');
  }
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) {
      throw bad(
        key === '' ? name : `${key}.${name}`,
        `is not a known key (known here: ${allowed.join(', ')})`,
      );
    }
  }
  return value as Json;
}

const at = (key: string, name: string) => (key === '' ? name : `${key}.${name}`);

function text(obj: Json, key: string, name: string, max = 255): string {
  const value = obj[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw bad(at(key, name), `must be a non-empty string (at most ${max} characters)`);
  }
  if (/[\0\r\n]/.test(value)) throw bad(at(key, name), 'must be one line');
  return value;
}

function optionalText(obj: Json, key: string, name: string, max = 255): string | undefined {
  return obj[name] === undefined ? undefined : text(obj, key, name, max);
}

function required(obj: Json, key: string, name: string): void {
  if (obj[name] === undefined) throw bad(at(key, name), 'is required');
}

function port(obj: Json, key: string, name: string): number {
  const value = obj[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw bad(at(key, name), 'must be a port number from 1 to 65535');
  }
  return value;
}

function oneOf<T extends string>(obj: Json, key: string, name: string, values: readonly T[]): T {
  const value = obj[name];
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw bad(at(key, name), `must be one of ${values.map((v) => `"${v}"`).join(', ')}`);
  }
  return value as T;
}

function listen(value: unknown, key: string): Listen {
  const parsed = typeof value === 'string' ? splitHostPort(value) : undefined;
  if (parsed === undefined) throw bad(key, 'must be "HOST:PORT" (for example "127.0.0.1:2525")');
  return parsed;
}

function path(obj: Json, key: string, name: string, base: string): string {
  return resolve(base, text(obj, key, name, 4096));
}

function secret(obj: Json, key: string, name: string, base: string): SecretSpec {
  const value = obj[name];
  if (typeof value === 'string' && /^env:[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value)) {
    return { env: value.slice(4) };
  }
  if (typeof value === 'string' && value.startsWith('file:') && value.length > 5) {
    const file = value.slice(5);
    return { file: isAbsolute(file) ? file : resolve(base, file) };
  }
  // Never echo the value: it may be the password itself.
  throw bad(
    at(key, name),
    'must be "env:NAME" or "file:PATH"; a password is never written in the file itself',
  );
}

/** A domain name as the config and Settings take them (MX exceptions). */
export const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;

/** Check the parsed JSON of a config file; `base` is the file's directory. */
export function parseServeConfig(value: unknown, base: string): ServeConfigSpec {
  const root = object(value, '', [
    'inbound',
    'relay',
    'upstream',
    'submission',
    'dns',
    'silenceAlertHours',
    'deliveryTimeoutHours',
    'requestDispatched',
  ]);
  const spec: {
    -readonly [K in keyof ServeConfigSpec]: ServeConfigSpec[K];
  } = {};

  if (root['inbound'] !== undefined) {
    const key = 'inbound';
    const o = object(root[key], key, ['listen', 'tlsCert', 'tlsKey', 'maxBytes']);
    required(o, key, 'listen');
    const maxBytes = o['maxBytes'] ?? DEFAULT_INBOUND_MAX_BYTES;
    if (
      typeof maxBytes !== 'number' ||
      !Number.isInteger(maxBytes) ||
      maxBytes < 1024 ||
      maxBytes > MAX_INBOUND_BYTES
    ) {
      throw bad(
        `${key}.maxBytes`,
        `must be a whole number of bytes from 1024 to ${MAX_INBOUND_BYTES}`,
      );
    }
    spec.inbound = {
      listen: listen(o['listen'], `${key}.listen`),
      tlsCert: path(o, key, 'tlsCert', base),
      tlsKey: path(o, key, 'tlsKey', base),
      maxBytes,
    };
  }

  if (root['relay'] !== undefined) {
    const relay = object(root['relay'], 'relay', ['smarthost', 'mx']);
    const kinds = Object.keys(relay);
    if (kinds.length !== 1) throw bad('relay', 'must hold exactly one of "smarthost" or "mx"');
    if (relay['smarthost'] !== undefined) {
      const key = 'relay.smarthost';
      const o = object(relay['smarthost'], key, ['host', 'port', 'secure', 'user', 'pass', 'ca']);
      const user = optionalText(o, key, 'user');
      if ((user === undefined) !== (o['pass'] === undefined)) {
        throw bad(`${key}.${user === undefined ? 'user' : 'pass'}`, 'is required with the other');
      }
      spec.relay = {
        kind: 'smarthost',
        host: text(o, key, 'host'),
        port: port(o, key, 'port'),
        secure: oneOf(o, key, 'secure', ['starttls', 'implicit'] as const),
        ...(user === undefined ? {} : { user, pass: secret(o, key, 'pass', base) }),
        ...(o['ca'] === undefined ? {} : { ca: path(o, key, 'ca', base) }),
      };
    } else {
      const key = 'relay.mx';
      const o = object(relay['mx'], key, ['tlsRequired', 'exceptions', 'port']);
      if (o['tlsRequired'] !== undefined && o['tlsRequired'] !== true) {
        // risk-3: TLS is required for MX delivery; only named domains are exceptions.
        throw bad(
          `${key}.tlsRequired`,
          'can only be true: list the domains that may receive without TLS in "exceptions"',
        );
      }
      const exceptions = o['exceptions'] ?? [];
      if (
        !Array.isArray(exceptions) ||
        exceptions.length > 100 ||
        exceptions.some((d) => typeof d !== 'string' || !DOMAIN.test(d))
      ) {
        throw bad(`${key}.exceptions`, 'must be a list of domain names (at most 100)');
      }
      spec.relay = {
        kind: 'mx',
        exceptions: (exceptions as string[]).map((d) => d.toLowerCase()),
        // For tests and labs; production MX is port 25.
        ...(o['port'] === undefined ? {} : { port: port(o, key, 'port') }),
      };
    }
  }

  if (root['upstream'] !== undefined) {
    const key = 'upstream';
    const o = object(root[key], key, [
      'host',
      'port',
      'secure',
      'user',
      'pass',
      'ca',
      'mailbox',
      'afterStore',
      'moveTo',
    ]);
    required(o, key, 'pass');
    const afterStore = oneOf(o, key, 'afterStore', ['keep', 'flag', 'move', 'delete'] as const);
    const moveTo = optionalText(o, key, 'moveTo', 200);
    if (moveTo !== undefined && afterStore !== 'move') {
      throw bad(`${key}.moveTo`, 'is only for "afterStore": "move"');
    }
    const mailbox = optionalText(o, key, 'mailbox', 200);
    spec.upstream = {
      host: text(o, key, 'host'),
      port: port(o, key, 'port'),
      secure: oneOf(o, key, 'secure', ['starttls', 'implicit'] as const),
      user: text(o, key, 'user'),
      pass: secret(o, key, 'pass', base),
      ...(o['ca'] === undefined ? {} : { ca: path(o, key, 'ca', base) }),
      ...(mailbox === undefined ? {} : { mailbox }),
      afterStore,
      ...(moveTo === undefined ? {} : { moveTo }),
    };
  }

  if (root['submission'] !== undefined) {
    const key = 'submission';
    const o = object(root[key], key, ['listen', 'tlsCert', 'tlsKey', 'user', 'pass']);
    required(o, key, 'listen');
    required(o, key, 'pass');
    const where = listen(o['listen'], `${key}.listen`);
    if (!isLoopbackHost(where.host)) {
      // risk-20: the submission endpoint is for this computer only.
      throw bad(`${key}.listen`, 'must be a loopback address (127.0.0.1 or ::1)');
    }
    spec.submission = {
      listen: where,
      tlsCert: path(o, key, 'tlsCert', base),
      tlsKey: path(o, key, 'tlsKey', base),
      user: text(o, key, 'user'),
      pass: secret(o, key, 'pass', base),
    };
  }

  if (root['dns'] !== undefined) {
    const dns = root['dns'];
    if (!Array.isArray(dns) || dns.length === 0 || dns.length > 8) {
      throw bad('dns', 'must be a list of 1 to 8 "HOST:PORT" DNS servers');
    }
    spec.dns = dns.map((entry, index) => {
      const server = listen(entry, `dns[${index}]`);
      if (isIP(server.host) === 0 || server.port === 0)
        throw bad(
          `dns[${index}]`,
          'must be a DNS server\'s "IP:PORT" (for example "192.0.2.53:53")',
        );
      return server;
    });
  }
  if (root['silenceAlertHours'] !== undefined) {
    const hours = root['silenceAlertHours'];
    if (typeof hours !== 'number' || !(hours > 0) || hours > 24 * 30) {
      throw bad('silenceAlertHours', 'must be a number of hours above 0 and at most 720');
    }
    spec.silenceAlertHours = hours;
  }
  if (root['deliveryTimeoutHours'] !== undefined) {
    const hours = root['deliveryTimeoutHours'];
    if (typeof hours !== 'number' || !(hours >= 0.05) || hours > 24 * 30) {
      throw bad('deliveryTimeoutHours', 'must be a number of hours from 0.05 to 720');
    }
    spec.deliveryTimeoutHours = hours;
  }
  if (root['requestDispatched'] !== undefined) {
    if (typeof root['requestDispatched'] !== 'boolean') {
      throw bad('requestDispatched', 'must be true or false');
    }
    spec.requestDispatched = root['requestDispatched'];
  }
  return spec;
}

async function readSecretSpec(spec: SecretSpec, key: string, env: NodeJS.ProcessEnv) {
  if ('env' in spec) {
    const value = env[spec.env];
    if (value === undefined || value === '') {
      throw bad(key, `names the environment variable ${spec.env}, which is not set`);
    }
    return value;
  }
  const content = await readInputFile(COMMAND, `--config "${key}"`, spec.file, SECRET_BYTES);
  const value = content.toString('utf8').replace(/\r?\n$/, '');
  content.fill(0);
  if (value === '') throw bad(key, `names the file ${spec.file}, which is empty`);
  return value;
}

const pem = (key: string, file: string) =>
  readInputFile(COMMAND, `--config "${key}"`, file, PEM_BYTES);

/** Read and check a config file, then the certificates, keys and secrets it names. */
export async function loadServeConfig(file: string, env: NodeJS.ProcessEnv): Promise<ServeConfig> {
  const bytes = await readInputFile(COMMAND, '--config', file, CONFIG_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UsageError(COMMAND, `--config ${file}: not valid JSON`);
  }
  const spec = parseServeConfig(json, dirname(resolve(file)));
  const config: { -readonly [K in keyof ServeConfig]: ServeConfig[K] } = {};
  /** The certificate and key files of a TLS listener, read. */
  const tlsPair = async (key: string, files: { tlsCert: string; tlsKey: string }) => ({
    cert: await pem(`${key}.tlsCert`, files.tlsCert),
    key: await pem(`${key}.tlsKey`, files.tlsKey),
  });
  if (spec.inbound !== undefined) {
    const s = spec.inbound;
    config.inbound = { listen: s.listen, tls: await tlsPair('inbound', s), maxBytes: s.maxBytes };
  }
  if (spec.relay?.kind === 'smarthost') {
    const s = spec.relay;
    config.relay = {
      kind: 'smarthost',
      host: s.host,
      port: s.port,
      secure: s.secure,
      ...(s.user === undefined || s.pass === undefined
        ? {}
        : {
            auth: { user: s.user, pass: await readSecretSpec(s.pass, 'relay.smarthost.pass', env) },
          }),
      ...(s.ca === undefined ? {} : { ca: await pem('relay.smarthost.ca', s.ca) }),
    };
  } else if (spec.relay !== undefined) {
    config.relay = spec.relay;
  }
  if (spec.upstream !== undefined) {
    const { ca, pass, ...s } = spec.upstream;
    config.upstream = {
      ...s,
      pass: await readSecretSpec(pass, 'upstream.pass', env),
      ...(ca === undefined ? {} : { ca: await pem('upstream.ca', ca) }),
    };
  }
  if (spec.submission !== undefined) {
    const s = spec.submission;
    config.submission = {
      listen: s.listen,
      tls: await tlsPair('submission', s),
      user: s.user,
      pass: await readSecretSpec(s.pass, 'submission.pass', env),
    };
  }
  if (spec.dns !== undefined) config.dns = spec.dns;
  if (spec.silenceAlertHours !== undefined) config.silenceAlertHours = spec.silenceAlertHours;
  if (spec.deliveryTimeoutHours !== undefined)
    config.deliveryTimeoutHours = spec.deliveryTimeoutHours;
  if (spec.requestDispatched !== undefined) config.requestDispatched = spec.requestDispatched;
  return config;
}
