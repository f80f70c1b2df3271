/**
 * The profile's one encrypted database (DESIGN.md §5): SQLite through
 * better-sqlite3-multiple-ciphers in SQLCipher 4 format, keyed with the profile's raw 32-byte
 * master key (no passphrase KDF: the key is already random), WAL journal, foreign keys on,
 * schema brought up to date by numbered migrations (migrations.ts).
 *
 * Every page on disk is AES-256 encrypted and HMAC-SHA512 authenticated by SQLCipher, so a
 * changed byte anywhere is found when that page is read. A wrong key and a damaged file both
 * look like "not a database" to SQLite; the profile tells them apart with a key check value
 * kept outside the database (profile.ts) before it opens this.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { HispError } from '../api/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Sqlite = Database.Database;

export interface OpenDatabaseOptions {
  readonly file: string;
  /** The profile's 32-byte master key. Copied into SQLCipher; the caller may zero its copy. */
  readonly key: Uint8Array;
  /** For tests of the migration runner; the real schema by default. */
  readonly migrations?: readonly Migration[];
}

const KEY_BYTES = 32;

/** SQLite result codes that mean the file is not what it should be. */
const DAMAGE_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CORRUPT_VTAB']);

function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * SQLite's errors on a damaged or altered file as STORE_CORRUPT, a full disk (or a database
 * at its page limit) as STORE_FULL — the transaction was rolled back, nothing changed;
 * anything else passes.
 */
export function storeError(error: unknown, file: string): unknown {
  const code = sqliteCode(error);
  if (code === 'SQLITE_FULL') {
    return new HispError(
      'STORE_FULL',
      `The disk that holds the profile database ${file} is full, so nothing was saved and nothing was changed. Free some space and try again.`,
      { cause: error },
    );
  }
  if (code !== undefined && DAMAGE_CODES.has(code)) {
    return new HispError(
      'STORE_CORRUPT',
      `The profile database ${file} is damaged or was changed outside Sealpost (${code}); it was not used.`,
      { cause: error },
    );
  }
  return error;
}

export class EncryptedDatabase {
  readonly file: string;
  readonly #db: Sqlite;

  private constructor(file: string, db: Sqlite) {
    this.file = file;
    this.#db = db;
  }

  /**
   * Open (creating if missing) and migrate. A file that does not open with this key is
   * STORE_CORRUPT here; the profile checks the key first, so that case means damage.
   */
  static open(options: OpenDatabaseOptions): EncryptedDatabase {
    if (options.key.byteLength !== KEY_BYTES) {
      throw new HispError('INTERNAL', `The database key must be ${KEY_BYTES} bytes.`);
    }
    let db: Sqlite | undefined;
    try {
      db = new Database(options.file, { fileMustExist: false });
      db.pragma(`cipher = 'sqlcipher'`);
      db.pragma('legacy = 4');
      // A raw key (x'…'), so SQLCipher uses it as is instead of running PBKDF2 over it.
      db.pragma(`key = "x'${Buffer.from(options.key).toString('hex')}'"`);
      // The first read decrypts and authenticates page 1: wrong key or damage fail here.
      db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('secure_delete = ON');
      const database = new EncryptedDatabase(options.file, db);
      database.#migrate(options.migrations ?? MIGRATIONS);
      return database;
    } catch (error) {
      db?.close();
      throw storeError(error, options.file);
    }
  }

  /** The schema version: the number of the last migration applied. */
  get version(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /**
   * Run `work` with the connection inside one transaction; SQLite damage found on the way is
   * STORE_CORRUPT. better-sqlite3 is synchronous, so nothing else runs in between.
   */
  transaction<T>(work: (db: Sqlite) => T): T {
    try {
      return this.#db.transaction(() => work(this.#db)).immediate();
    } catch (error) {
      throw storeError(error, this.file);
    }
  }

  /** Read-only work outside an explicit transaction. */
  read<T>(work: (db: Sqlite) => T): T {
    try {
      return work(this.#db);
    } catch (error) {
      throw storeError(error, this.file);
    }
  }

  /** Reads every page and checks SQLCipher's page MACs and SQLite's structure. */
  checkIntegrity(): string[] {
    return this.read((db) => {
      const rows = db.pragma('quick_check') as { quick_check: string }[];
      return rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
    });
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #migrate(migrations: readonly Migration[]): void {
    const latest = migrations.length;
    migrations.forEach((migration, index) => {
      if (migration.version !== index + 1) {
        throw new HispError(
          'INTERNAL',
          `Migration ${migration.name} is numbered ${migration.version}, expected ${index + 1}.`,
        );
      }
    });
    const current = this.version;
    if (current > latest) {
      throw new HispError(
        'STORE_TOO_NEW',
        `The profile database ${this.file} has schema version ${current}; this Sealpost knows up to ${latest}. Update Sealpost to open it.`,
      );
    }
    for (const migration of migrations.slice(current)) {
      this.#db
        .transaction(() => {
          migration.up(this.#db);
          this.#db.pragma(`user_version = ${migration.version}`);
        })
        .immediate();
    }
  }
}
