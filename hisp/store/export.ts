/**
 * Encrypted export and restore of a whole profile, for a new machine (issue: "Encrypted
 * export and restore of a whole profile").
 *
 * The export is the profile itself — its id, its master key, every row of its database and
 * the private keys kept in the keychain — so the restored profile is the same profile: its
 * audit chain (keyed from the master key) still verifies and its messages still open. It is
 * written as
 *
 *   SEALPOST-PROFILE-EXPORT 1\n
 *   {"wrap": <a random 32-byte data key sealed under the export passphrase — the vault
 *             format of vault.ts: scrypt + AES-256-GCM>, "iv": …, "profileId": …,
 *    "exportedAt": …, "schemaVersion": …}\n
 *   AES-256-GCM(data key, gzip(JSON payload)) ‖ 16-byte tag      (AAD: the two lines above)
 *
 * Rows are read and written generically (every table, and the shadow tables of the full-text
 * index; BLOBs as base64), so an export taken at an older schema is loaded into that schema
 * and then migrated up. The plaintext exists only
 * in memory; the file is written whole or not at all, mode 600.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { HispError } from '../api/errors.js';
import type { MasterKeySource } from '../keys/masterKey.js';
import { parseVault, sealVault, unsealVault, type VaultFile } from '../keys/vault.js';
import type { Sqlite } from './database.js';
import { MIGRATIONS } from './migrations.js';
import {
  DATABASE_FILE,
  initProfile,
  openProfile,
  PROFILE_FILE,
  VAULT_FILE,
  writePrivateFile,
  type Profile,
} from './profile.js';

const MAGIC = 'SEALPOST-PROFILE-EXPORT 1';
const FORMAT = 'sealpost-profile-export';
const TAG_BYTES = 16;
/** An export larger than this is refused (a profile with years of mail can be big). */
export const EXPORT_MAX_BYTES = 4 * 1024 * 1024 * 1024 - 1;

/** Private keys kept outside the database (the keychain), carried in the export. */
export interface ExportSecrets {
  exportSecrets(): Promise<{ fingerprint: string; pkcs8: Buffer }[]>;
  importSecrets(secrets: readonly { fingerprint: string; pkcs8: Buffer }[]): Promise<unknown>;
  /** A restore failed after the secrets were stored: take them out again (keychain entries). */
  discard?(fingerprints: readonly string[]): Promise<unknown>;
}

type Cell = null | number | string | { readonly b64: string } | { readonly big: string };

interface TableDump {
  readonly name: string;
  readonly columns: readonly string[];
  readonly rows: readonly Cell[][];
}

interface Payload {
  readonly format: typeof FORMAT;
  readonly profile: { readonly id: string; readonly createdAt: string };
  readonly masterKey: string;
  readonly schemaVersion: number;
  readonly tables: readonly TableDump[];
  readonly secrets: readonly { readonly fingerprint: string; readonly pkcs8: string }[];
}

function encodeCell(value: unknown): Cell {
  if (value === null || typeof value === 'number' || typeof value === 'string') return value;
  if (typeof value === 'bigint') return { big: value.toString() };
  if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
  throw new HispError('INTERNAL', `A database value of type ${typeof value} cannot be exported.`);
}

function decodeCell(cell: Cell): unknown {
  if (cell === null || typeof cell === 'number' || typeof cell === 'string') return cell;
  if ('b64' in cell) return Buffer.from(cell.b64, 'base64');
  return BigInt(cell.big);
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * The tables whose rows make the profile: ordinary tables and the shadow tables behind
 * full-text indexes, copied byte for byte. The full-text tables themselves are not read: a
 * contentless index cannot give its text back (the text lives only in the encrypted
 * messages), so its shadow tables are what carries it over.
 */
function tablesOf(db: Sqlite): string[] {
  const list = db.pragma('table_list') as { schema: string; name: string; type: string }[];
  return list
    .filter(
      (table) =>
        table.schema === 'main' &&
        (table.type === 'table' || table.type === 'shadow') &&
        !table.name.startsWith('sqlite_'),
    )
    .map((table) => table.name)
    .sort((a, b) => a.localeCompare(b));
}

function dumpTables(db: Sqlite): TableDump[] {
  return tablesOf(db).map((name) => {
    const statement = db.prepare(`SELECT * FROM ${quote(name)}`).raw(true);
    const columns = statement.columns().map((column) => column.name);
    const rows = (statement.all() as unknown[][]).map((row) => row.map(encodeCell));
    return { name, columns, rows };
  });
}

/** Writes the export of an open profile to `file` (whole or not at all, mode 600). */
export async function exportProfile(
  profile: Profile,
  masterKey: Uint8Array,
  file: string,
  options: { readonly passphrase: Buffer; readonly secrets?: ExportSecrets; readonly now?: Date },
): Promise<{ bytes: number; tables: number; rows: number }> {
  const tables = profile.db.read((db) => db.transaction(() => dumpTables(db)).deferred());
  const secrets = (await options.secrets?.exportSecrets()) ?? [];
  const payload: Payload = {
    format: FORMAT,
    profile: { id: profile.id, createdAt: profile.info.createdAt },
    masterKey: Buffer.from(masterKey).toString('base64'),
    schemaVersion: profile.db.version,
    tables,
    secrets: secrets.map((secret) => ({
      fingerprint: secret.fingerprint,
      pkcs8: secret.pkcs8.toString('base64'),
    })),
  };
  for (const secret of secrets) secret.pkcs8.fill(0);
  const plain = gzipSync(Buffer.from(JSON.stringify(payload), 'utf8'));
  const dataKey = randomBytes(32);
  try {
    const wrap: VaultFile = await sealVault(dataKey, options.passphrase);
    const iv = randomBytes(12);
    const header = `${MAGIC}\n${JSON.stringify({
      wrap,
      iv: iv.toString('base64'),
      profileId: profile.id,
      exportedAt: (options.now ?? new Date()).toISOString(),
      schemaVersion: payload.schemaVersion,
    })}\n`;
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(header, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    plain.fill(0);
    const out = Buffer.concat([Buffer.from(header, 'utf8'), body]);
    await writePrivateFile(file, out);
    return {
      bytes: out.byteLength,
      tables: tables.length,
      rows: tables.reduce((sum, table) => sum + table.rows.length, 0),
    };
  } finally {
    dataKey.fill(0);
  }
}

function malformed(why: string): HispError {
  return new HispError('EXPORT_MALFORMED', `The profile export cannot be used: ${why}.`);
}

/** Decrypts an export in memory. */
export async function readExport(bytes: Buffer, passphrase: Buffer): Promise<Payload> {
  const first = bytes.indexOf(0x0a);
  const second = first < 0 ? -1 : bytes.indexOf(0x0a, first + 1);
  if (first < 0 || second < 0 || bytes.subarray(0, first).toString('latin1') !== MAGIC) {
    throw malformed('it is not a Sealpost profile export');
  }
  let header: { wrap?: unknown; iv?: unknown };
  try {
    header = JSON.parse(bytes.subarray(first + 1, second).toString('utf8')) as typeof header;
  } catch {
    throw malformed('its header is not readable');
  }
  if (typeof header.iv !== 'string' || typeof header.wrap !== 'object' || header.wrap === null) {
    throw malformed('its header is incomplete');
  }
  const iv = Buffer.from(header.iv, 'base64');
  const body = bytes.subarray(second + 1);
  if (iv.length !== 12 || body.length < TAG_BYTES) throw malformed('it is truncated');
  let dataKey: Buffer;
  try {
    dataKey = await unsealVault(
      parseVault(JSON.stringify(header.wrap), 'the export'),
      passphrase,
      'the export',
    );
  } catch (error) {
    if (error instanceof HispError && error.code === 'VAULT_BAD_PASSPHRASE') {
      throw new HispError(
        'EXPORT_BAD_PASSPHRASE',
        'The passphrase does not open this profile export (or its header was altered).',
      );
    }
    throw malformed(error instanceof Error ? error.message : 'its key cannot be read');
  }
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(bytes.subarray(0, second + 1));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    plain = Buffer.concat([
      decipher.update(body.subarray(0, body.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw malformed('it was altered or is damaged (the authentication tag does not match)');
  } finally {
    dataKey.fill(0);
  }
  let payload: Payload;
  try {
    payload = JSON.parse(gunzipSync(plain).toString('utf8')) as Payload;
  } catch {
    throw malformed('its content is not readable');
  } finally {
    plain.fill(0);
  }
  if (
    payload.format !== FORMAT ||
    typeof payload.masterKey !== 'string' ||
    !Number.isInteger(payload.schemaVersion) ||
    !Array.isArray(payload.tables)
  ) {
    throw malformed('its content is not a profile');
  }
  if (payload.schemaVersion > MIGRATIONS.length) {
    throw new HispError(
      'STORE_TOO_NEW',
      `The export was made by a newer Sealpost (schema ${payload.schemaVersion}). Update Sealpost to restore it.`,
    );
  }
  return payload;
}

/**
 * Restore an export into a new profile directory: the same profile id and master key (stored
 * in `keySource`: this machine's keychain or a new vault), every row, the private keys. All or
 * nothing: on failure the new directory's files and the stored key are removed again.
 */
export async function restoreProfile(
  dir: string,
  bytes: Buffer,
  options: {
    readonly passphrase: Buffer;
    readonly keySource: MasterKeySource;
    readonly secrets?: (profile: Profile) => ExportSecrets;
  },
): Promise<Profile> {
  const payload = await readExport(bytes, options.passphrase);
  const masterKey = Buffer.from(payload.masterKey, 'base64');
  let created = false;
  try {
    const profile = await initProfile(dir, {
      keySource: options.keySource,
      restore: {
        id: payload.profile.id,
        masterKey,
        createdAt: payload.profile.createdAt,
        schemaVersion: payload.schemaVersion,
      },
    });
    created = true;
    const secrets = options.secrets?.(profile);
    try {
      profile.db.transaction((db) => loadTables(db, payload.tables));
      const keys = payload.secrets.map((secret) => ({
        fingerprint: secret.fingerprint,
        pkcs8: Buffer.from(secret.pkcs8, 'base64'),
      }));
      try {
        await secrets?.importSecrets(keys);
      } catch (error) {
        await secrets?.discard?.(keys.map((key) => key.fingerprint)).catch(() => undefined);
        throw error;
      } finally {
        for (const key of keys) key.pkcs8.fill(0);
      }
    } finally {
      profile.close();
    }
    // Reopen with every migration: an export from an older schema is brought up to date.
    return await openProfile(dir, { keySourceFor: () => options.keySource });
  } catch (error) {
    if (created) {
      await options.keySource.remove(payload.profile.id).catch(() => undefined);
      for (const name of [
        PROFILE_FILE,
        DATABASE_FILE,
        `${DATABASE_FILE}-wal`,
        `${DATABASE_FILE}-shm`,
        VAULT_FILE,
      ]) {
        await rm(join(dir, name), { force: true });
      }
    }
    throw error instanceof HispError
      ? error
      : malformed(error instanceof Error ? error.message : String(error));
  } finally {
    masterKey.fill(0);
  }
}

function loadTables(db: Sqlite, dumps: readonly TableDump[]): void {
  const known = new Set(tablesOf(db));
  // Triggers (audit append-only guards, index maintenance) are set aside while rows load.
  const triggers = db
    .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL")
    .all() as { name: string; sql: string }[];
  for (const trigger of triggers) db.exec(`DROP TRIGGER ${quote(trigger.name)}`);
  db.pragma('defer_foreign_keys = ON');
  // Shadow tables are read-only in SQLite's defensive mode; it is lifted for this load only.
  db.unsafeMode(true);
  try {
    loadRows(db, known, dumps);
  } finally {
    db.unsafeMode(false);
  }
  for (const trigger of triggers) db.exec(trigger.sql);
}

function loadRows(db: Sqlite, known: ReadonlySet<string>, dumps: readonly TableDump[]): void {
  for (const dump of dumps) {
    if (!known.has(dump.name)) {
      throw malformed(`it holds a table ${dump.name} this schema does not have`);
    }
    db.exec(`DELETE FROM ${quote(dump.name)}`);
    const insert = db.prepare(
      `INSERT INTO ${quote(dump.name)} (${dump.columns.map(quote).join(', ')}) VALUES (${dump.columns.map(() => '?').join(', ')})`,
    );
    for (const row of dump.rows) insert.run(...row.map(decodeCell));
  }
}
