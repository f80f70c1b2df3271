/**
 * What the mail window can tell about locking from the HISP's status alone, as pure
 * functions (unit-tested in Node: test/unit/renderer-settings-lock.test.ts).
 *
 * The status names no key source while the profile is locked (its `profile` component then
 * says only "locked"); while unlocked the component's detail says where the key is ("key in
 * the passphrase vault" / "key in the system keychain", hisp/host/session.ts). So the lock
 * screen remembers what it last saw; a window that opened on a locked profile does not know,
 * and asks for a passphrase that keychain profiles may leave empty.
 */
import type { Status } from '../../../hisp/api/index.js';

/** Where the profile's master key is kept, as far as the window knows. */
export type KeySourceKind = 'keychain' | 'vault' | 'unknown';

function profileComponent(status: Status): Status['components'][number] | undefined {
  return status.components.find((component) => component.name === 'profile');
}

/** The key source the status names (only an unlocked profile's status names one). */
export function keySourceIn(status: Status): KeySourceKind {
  const detail = profileComponent(status)?.detail ?? '';
  if (/passphrase vault/i.test(detail)) return 'vault';
  if (/system keychain/i.test(detail)) return 'keychain';
  return 'unknown';
}

/** The newest knowledge: what this status says, else what was known before. */
export function rememberKeySource(previous: KeySourceKind, status: Status): KeySourceKind {
  const now = keySourceIn(status);
  return now === 'unknown' ? previous : now;
}

/**
 * Whether this HISP's profile can be locked: only a HISP with a profile session reports a
 * `profile` component (the demo's throwaway profiles cannot be locked).
 */
export function canLock(status: Status | undefined): boolean {
  return status !== undefined && profileComponent(status) !== undefined;
}

/** The `unlock` call's parameters: no passphrase for a keychain profile or an empty field. */
export function unlockParams(kind: KeySourceKind, passphrase: string): { passphrase?: string } {
  if (kind === 'keychain' || passphrase === '') return {};
  return { passphrase };
}
