/**
 * The database schema, as numbered migrations. A migration is never edited once released:
 * a change is a new migration. Each one runs in its own transaction together with the
 * `user_version` bump, so a crash leaves the schema at the previous version, never between.
 * Each has a test (test/unit/store-*.test.ts); one file per migration in migrations/.
 */
import type Database from 'better-sqlite3-multiple-ciphers';
import { m001 } from './migrations/001-trust.js';
import { m002 } from './migrations/002-audit.js';
import { m003 } from './migrations/003-identities.js';
import { m004 } from './migrations/004-mail.js';
import { m005 } from './migrations/005-cert-cache.js';
import { m006 } from './migrations/006-upstream.js';
import { m007 } from './migrations/007-delivery.js';
import { m008 } from './migrations/008-folder-seen.js';
import { m009 } from './migrations/009-settings-audit.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Database.Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  m001,
  m002,
  m003,
  m004,
  m005,
  m006,
  m007,
  m008,
  m009,
];
