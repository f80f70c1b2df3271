import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { MIGRATIONS, type Migration } from '../../hisp/store/migrations.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sealpost-store-'));
  dirs.push(dir);
  return join(dir, 'sealpost.db');
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof HispError ? error.code : `not a HispError: ${String(error)}`;
  }
  return undefined;
}

const MARKER = 'MARKER-7f3c1e-PATIENT-DOE';

async function filesContain(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(dir)) {
    const content = await readFile(join(dir, name));
    if (content.includes(needle) || content.includes(Buffer.from(needle, 'utf16le'))) {
      hits.push(name);
    }
  }
  return hits;
}

describe('the encrypted database', () => {
  it('creates the schema, and keeps nothing readable on disk (database, WAL or shm)', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    const db = EncryptedDatabase.open({ file, key });
    expect(db.version).toBe(MIGRATIONS.length);
    db.transaction((sql) =>
      sql
        .prepare('INSERT INTO settings (key, value) VALUES (?, ?)')
        .run('note', JSON.stringify(MARKER)),
    );
    // While open: the WAL holds the write.
    expect(await filesContain(join(file, '..'), MARKER)).toEqual([]);
    db.close();
    expect(await filesContain(join(file, '..'), MARKER)).toEqual([]);
    const header = (await readFile(file)).subarray(0, 16).toString('latin1');
    expect(header).not.toBe('SQLite format 3\u0000');

    const again = EncryptedDatabase.open({ file, key });
    const row = again.read((sql) =>
      sql.prepare('SELECT value FROM settings WHERE key = ?').get('note'),
    );
    expect(row).toEqual({ value: JSON.stringify(MARKER) });
    expect(again.checkIntegrity()).toEqual([]);
    again.close();
  });

  it('a different key does not open it (STORE_CORRUPT at this level; the profile says wrong key)', async () => {
    const file = await tempFile();
    EncryptedDatabase.open({ file, key: randomBytes(32) }).close();
    expect(codeOf(() => EncryptedDatabase.open({ file, key: randomBytes(32) }))).toBe(
      'STORE_CORRUPT',
    );
  });

  it('a changed byte in any page is found: opening, reading or the integrity check fails with STORE_CORRUPT', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    const db = EncryptedDatabase.open({ file, key });
    db.transaction((sql) => {
      const insert = sql.prepare('INSERT INTO settings (key, value) VALUES (?, ?)');
      for (let i = 0; i < 400; i++) insert.run(`k${i}`, JSON.stringify('x'.repeat(200)));
    });
    db.close(); // checkpoints the WAL into the main file
    const original = await readFile(file);
    const pages = original.byteLength / 4096;
    expect(pages).toBeGreaterThan(20);
    const outcomes: string[] = [];
    for (let page = 0; page < pages; page++) {
      const bytes = Buffer.from(original);
      bytes[page * 4096 + 100] = (bytes[page * 4096 + 100] ?? 0) ^ 0x01;
      await writeFile(file, bytes);
      outcomes.push(
        codeOf(() => {
          const reopened = EncryptedDatabase.open({ file, key });
          try {
            reopened.read((sql) => sql.prepare('SELECT * FROM settings').all());
            reopened.checkIntegrity();
          } finally {
            reopened.close();
          }
        }) ?? `page ${page} undetected`,
      );
    }
    expect(new Set(outcomes)).toEqual(new Set(['STORE_CORRUPT']));
  });

  it('a changed first page, a truncated file and a file of garbage are STORE_CORRUPT', async () => {
    const key = randomBytes(32);
    const first = await tempFile();
    EncryptedDatabase.open({ file: first, key }).close();
    const bytes = await readFile(first);
    bytes[200] = (bytes[200] ?? 0) ^ 0x80;
    await writeFile(first, bytes);
    expect(codeOf(() => EncryptedDatabase.open({ file: first, key }))).toBe('STORE_CORRUPT');

    const truncated = await tempFile();
    EncryptedDatabase.open({ file: truncated, key }).close();
    await writeFile(truncated, (await readFile(truncated)).subarray(0, 1000));
    expect(codeOf(() => EncryptedDatabase.open({ file: truncated, key }))).toBe('STORE_CORRUPT');

    const garbage = await tempFile();
    await writeFile(garbage, randomBytes(8192));
    expect(codeOf(() => EncryptedDatabase.open({ file: garbage, key }))).toBe('STORE_CORRUPT');
  });

  it('refuses a key that is not 32 bytes', async () => {
    const file = await tempFile();
    expect(codeOf(() => EncryptedDatabase.open({ file, key: randomBytes(16) }))).toBe('INTERNAL');
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  });
});

describe('migrations', () => {
  const one: Migration = {
    version: 1,
    name: 'one',
    up: (db) => db.exec('CREATE TABLE a (x INTEGER) STRICT'),
  };
  const two: Migration = {
    version: 2,
    name: 'two',
    up: (db) => db.exec('CREATE TABLE b (y INTEGER) STRICT'),
  };

  it('are numbered 1, 2, 3… with no gaps', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(
      MIGRATIONS.map((_, index) => index + 1),
    );
  });

  it('migration 1 creates settings and the trust store tables', async () => {
    const db = EncryptedDatabase.open({
      file: await tempFile(),
      key: randomBytes(32),
      migrations: [MIGRATIONS[0]!],
    });
    const tables = db.read((sql) =>
      (
        sql.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
          name: string;
        }[]
      ).map((row) => row.name),
    );
    expect(tables).toEqual(['settings', 'trust_anchors', 'trust_bundle_signers', 'trust_bundles']);
    db.close();
  });

  it('runs only the missing ones, in order', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    const first = EncryptedDatabase.open({ file, key, migrations: [one] });
    expect(first.version).toBe(1);
    first.close();
    const second = EncryptedDatabase.open({ file, key, migrations: [one, two] });
    expect(second.version).toBe(2);
    const tables = second.read((sql) =>
      sql.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all(),
    );
    expect(tables).toEqual([{ name: 'a' }, { name: 'b' }]);
    second.close();
  });

  it('migration 9 rebuilds audit_log for settings-change: every row kept as it was, still append-only', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    const before = EncryptedDatabase.open({ file, key, migrations: MIGRATIONS.slice(0, 8) });
    const insert =
      'INSERT INTO audit_log (seq, at, user, action, counterpart, message_id, detail, prev, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)';
    before.transaction((db) => {
      db.prepare(insert).run(
        1,
        '2026-01-01T00:00:00Z',
        'u',
        'send',
        'a@b.example',
        '<m@x>',
        null,
        '0'.repeat(64),
        'a'.repeat(64),
      );
      db.prepare(insert).run(
        2,
        '2026-01-01T00:01:00Z',
        'u',
        'trust-change',
        null,
        null,
        '{"anchor":"cd"}',
        'a'.repeat(64),
        'b'.repeat(64),
      );
    });
    expect(() =>
      before.transaction((db) =>
        db
          .prepare(insert)
          .run(3, 'x', 'u', 'settings-change', null, null, null, 'b'.repeat(64), 'c'.repeat(64)),
      ),
    ).toThrow(/CHECK constraint/);
    const rows = before.read((db) => db.prepare('SELECT * FROM audit_log ORDER BY seq').all());
    before.close();

    const after = EncryptedDatabase.open({ file, key });
    expect(after.version).toBe(MIGRATIONS.length);
    expect(after.read((db) => db.prepare('SELECT * FROM audit_log ORDER BY seq').all())).toEqual(
      rows,
    );
    after.transaction((db) =>
      db
        .prepare(insert)
        .run(3, 'x', 'u', 'settings-change', null, null, null, 'b'.repeat(64), 'c'.repeat(64)),
    );
    expect(() =>
      after.transaction((db) => db.prepare("UPDATE audit_log SET user = 'v' WHERE seq = 1").run()),
    ).toThrow(/append-only/);
    expect(() =>
      after.transaction((db) => db.prepare('DELETE FROM audit_log WHERE seq = 1').run()),
    ).toThrow(/append-only/);
    expect(
      after.read((db) =>
        db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'audit_log_at'")
          .get(),
      ),
    ).toEqual({ name: 'audit_log_at' });
    after.close();
  });

  it('a failing migration leaves the schema at the previous version, with nothing half done', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    EncryptedDatabase.open({ file, key, migrations: [one] }).close();
    const broken: Migration = {
      version: 2,
      name: 'broken',
      up: (db) => {
        db.exec('CREATE TABLE c (z INTEGER)');
        db.exec('THIS IS NOT SQL');
      },
    };
    expect(() => EncryptedDatabase.open({ file, key, migrations: [one, broken] })).toThrow();
    const db = EncryptedDatabase.open({ file, key, migrations: [one] });
    expect(db.version).toBe(1);
    expect(
      db.read((sql) => sql.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get()),
    ).toBe(undefined);
    db.close();
  });

  it('a database from a newer Sealpost is STORE_TOO_NEW and is left untouched', async () => {
    const file = await tempFile();
    const key = randomBytes(32);
    EncryptedDatabase.open({ file, key, migrations: [one, two] }).close();
    const before = await readFile(file);
    expect(codeOf(() => EncryptedDatabase.open({ file, key, migrations: [one] }))).toBe(
      'STORE_TOO_NEW',
    );
    expect((await readFile(file)).equals(before)).toBe(true);
  });

  it('a misnumbered list is refused before anything runs', async () => {
    const file = await tempFile();
    expect(
      codeOf(() => EncryptedDatabase.open({ file, key: randomBytes(32), migrations: [two] })),
    ).toBe('INTERNAL');
  });
});
