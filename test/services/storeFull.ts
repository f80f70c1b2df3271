/**
 * A full disk, made by SQLite itself (no stand-in): a page limit at the database's present
 * size makes every write that needs a new page fail with SQLITE_FULL, as a full disk does.
 * Free pages inside the file can still take a small row, so tests write something large
 * (tens of KB) to meet it.
 */
import type { Profile } from '../../hisp/store/profile.js';

/** SQLite's default max_page_count. */
const NO_LIMIT = 1_073_741_823;

const pragma = (profile: Profile, statement: string): number =>
  profile.db.read((db) => db.pragma(statement, { simple: true }) as number);

/** The profile's database can grow no further. */
export function fillStore(profile: Profile): void {
  pragma(profile, `max_page_count = ${pragma(profile, 'page_count')}`);
}

/** Room again. */
export function emptyStore(profile: Profile): void {
  pragma(profile, `max_page_count = ${NO_LIMIT}`);
}
