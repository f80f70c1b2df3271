/**
 * A small pino-style structured logger (JSON lines), injected into every component.
 * Patient data is treated like a password: field values under content-like keys are never
 * written, secret-like keys are redacted, and registered secrets (such as the bridge token)
 * are scrubbed from every string, message text included.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines carry these bindings too (e.g. `{ component: 'bridge' }`). */
  child(bindings: Fields): Logger;
  /** Scrub this value from every line from now on (all loggers sharing this root). */
  addSecret(secret: string): void;
}

const LEVELS: Record<Level, number> = { debug: 20, info: 30, warn: 40, error: 50 };

/** Keys whose values are credentials. */
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|private[-_]?key|master[-_]?key|credential|^pin$|^key$/i;
/** Keys whose values may be message content (PHI). Headers-level facts (ids, sizes, codes) are fine. */
const CONTENT_KEY =
  /^(body|content|text|html|subject|snippet|raw|mime|plaintext|attachments?|filename|params|result|data)$/i;

export const REDACTED = '[redacted]';
export const CONTENT_REDACTED = '[content redacted]';

const MAX_DEPTH = 5;
const MAX_STRING = 1000;
const MAX_ENTRIES = 50;

export interface LoggerOptions {
  readonly level?: Level;
  /** Receives each finished JSON line (no newline). Defaults to stderr. */
  readonly sink?: (line: string) => void;
  readonly bindings?: Fields;
  readonly now?: () => Date;
}

interface Shared {
  readonly threshold: number;
  readonly sink: (line: string) => void;
  readonly now: () => Date;
  readonly secrets: Set<string>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const shared: Shared = {
    threshold: LEVELS[options.level ?? 'info'],
    sink: options.sink ?? ((line) => process.stderr.write(`${line}\n`)),
    now: options.now ?? (() => new Date()),
    secrets: new Set(),
  };
  return new JsonLogger(shared, options.bindings ?? {});
}

class JsonLogger implements Logger {
  readonly #shared: Shared;
  readonly #bindings: Fields;

  constructor(shared: Shared, bindings: Fields) {
    this.#shared = shared;
    this.#bindings = bindings;
  }

  debug(msg: string, fields?: Fields): void {
    this.#write('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.#write('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.#write('warn', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.#write('error', msg, fields);
  }

  child(bindings: Fields): Logger {
    return new JsonLogger(this.#shared, { ...this.#bindings, ...bindings });
  }

  addSecret(secret: string): void {
    // Very short values would scrub ordinary words; secrets worth registering are long.
    if (secret.length >= 8) this.#shared.secrets.add(secret);
  }

  #write(level: Level, msg: string, fields: Fields | undefined): void {
    if (LEVELS[level] < this.#shared.threshold) return;
    const record: Record<string, unknown> = {
      time: this.#shared.now().toISOString(),
      level,
      ...(sanitize({ ...this.#bindings, ...fields }, this.#shared.secrets, 0) as Record<
        string,
        unknown
      >),
      msg: scrub(msg, this.#shared.secrets),
    };
    this.#shared.sink(JSON.stringify(record));
  }
}

function scrub(value: string, secrets: ReadonlySet<string>): string {
  let out =
    value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…[${value.length} chars]` : value;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

function sanitize(value: unknown, secrets: ReadonlySet<string>, depth: number): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return scrub(value, secrets);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol') {
    return undefined;
  }
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return serializeError(value, secrets, depth);
  if (depth >= MAX_DEPTH) return '[depth limit]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ENTRIES).map((item) => sanitize(item, secrets, depth + 1));
    if (value.length > MAX_ENTRIES) items.push(`[+${value.length - MAX_ENTRIES} more]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (count++ >= MAX_ENTRIES) {
      out['…'] = 'more keys omitted';
      break;
    }
    if (SECRET_KEY.test(key)) out[key] = REDACTED;
    else if (CONTENT_KEY.test(key)) out[key] = CONTENT_REDACTED;
    else out[key] = sanitize(inner, secrets, depth + 1);
  }
  return out;
}

function serializeError(
  error: Error,
  secrets: ReadonlySet<string>,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: error.name,
    message: scrub(error.message, secrets),
  };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out['code'] = code;
  if (error.stack) out['stack'] = scrub(error.stack, secrets);
  if (error.cause !== undefined && depth < MAX_DEPTH)
    out['cause'] = sanitize(error.cause, secrets, depth + 1);
  return out;
}

/** A logger that writes nothing: for callers that opt out, never as a hidden default. */
export function createSilentLogger(): Logger {
  return createLogger({ sink: () => undefined, level: 'error' });
}
