/**
 * A profile's master key: 32 random bytes, the key of the profile's encrypted database.
 * It lives either in the OS keychain (the default) or in a passphrase vault file (headless
 * servers, chosen by configuration only — never as a silent fallback: a keychain error is
 * reported, not worked around). It is never written to disk in plaintext.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';

import { HispError } from '../api/errors.js';
import { DEFAULT_KEYCHAIN_SERVICE, type KeychainOptions, openKeychain } from './keychain.js';
import { readVault, writeNewVault } from './vault.js';

export const MASTER_KEY_BYTES = 32;

/** Where a profile's master key lives. `profileId` is a random id the profile code makes (e.g. 32 hex chars). */
export interface MasterKeySource {
  readonly kind: 'keychain' | 'vault';
  /**
   * Make a new random key (or, restoring a profile from an export, store the given one), store
   * it, return it. Refuses (PROFILE_EXISTS) if one exists already for that id.
   */
  create(profileId: string, restore?: Uint8Array): Promise<Buffer>;
  /** The stored key. KEYCHAIN_ENTRY_MISSING / KEYCHAIN_LOCKED / KEYCHAIN_UNAVAILABLE / KEYCHAIN_DENIED / VAULT_BAD_PASSPHRASE. */
  load(profileId: string): Promise<Buffer>;
  /** Forget the key (profile removal). Missing is not an error. */
  remove(profileId: string): Promise<void>;
}

const PROFILE_ID = /^[A-Za-z0-9_-]{1,128}$/;

function checkProfileId(profileId: string): void {
  if (typeof profileId !== 'string' || !PROFILE_ID.test(profileId)) {
    throw new HispError('INTERNAL', 'A profile id must be 1-128 letters, digits, "-" or "_".');
  }
}

/** The keychain account that holds a profile's master key. */
export function masterKeyAccount(profileId: string): string {
  checkProfileId(profileId);
  return `profile:${profileId}:master-key`;
}

function checkKeyLength(key: Buffer, where: string): Buffer {
  if (key.length !== MASTER_KEY_BYTES) {
    const length = key.length;
    key.fill(0);
    throw new HispError(
      'STORE_CORRUPT',
      `${where} holds ${length} bytes where a Sealpost master key has ${MASTER_KEY_BYTES}: it was changed outside Sealpost. Restore the profile from an export.`,
    );
  }
  return key;
}

/**
 * Master keys in the OS keychain, one entry per profile: service `Sealpost` (or `service`),
 * account `profile:<id>:master-key`. On Linux only the Secret Service is used.
 */
export function keychainMasterKeySource(
  options: { service?: string } & Omit<KeychainOptions, 'service'> = {},
): MasterKeySource {
  const keychain = openKeychain({
    ...options,
    service: options.service ?? DEFAULT_KEYCHAIN_SERVICE,
  });
  return {
    kind: 'keychain',
    async create(profileId, restore) {
      const account = masterKeyAccount(profileId);
      const existing = await keychain.get(account);
      if (existing !== undefined) {
        existing.fill(0);
        throw new HispError(
          'PROFILE_EXISTS',
          `The keychain already holds a master key for profile ${profileId} (entry "${account}" of service "${keychain.service}"); it was not replaced.`,
        );
      }
      const key =
        restore === undefined
          ? randomBytes(MASTER_KEY_BYTES)
          : checkKeyLength(Buffer.from(restore), 'The restored master key');
      await keychain.set(account, key);
      // Read it back: the profile must not be created on a key the keychain did not keep.
      const stored = await keychain.get(account);
      const same =
        stored !== undefined && stored.length === key.length && timingSafeEqual(stored, key);
      stored?.fill(0);
      if (!same) {
        key.fill(0);
        throw new HispError(
          'INTERNAL',
          `The keychain did not return the master key just stored for profile ${profileId}.`,
        );
      }
      return key;
    },
    async load(profileId) {
      const account = masterKeyAccount(profileId);
      const key = await keychain.get(account);
      if (key === undefined) {
        throw new HispError(
          'KEYCHAIN_ENTRY_MISSING',
          `The system keychain has no master key for profile ${profileId} (entry "${account}" of service "${keychain.service}"). It was deleted, or the profile was made by another user or on another machine. Restore the profile from an export.`,
        );
      }
      return checkKeyLength(key, `The keychain entry "${account}"`);
    },
    async remove(profileId) {
      await keychain.delete(masterKeyAccount(profileId));
    },
  };
}

/**
 * The master key wrapped under a passphrase in `file` (see vault.ts). One vault file per
 * profile; `profileId` is checked but not stored. The passphrase Buffer stays the caller's:
 * do not zero it while this source is in use.
 */
export function vaultMasterKeySource(options: {
  file: string;
  passphrase: Buffer;
}): MasterKeySource {
  const { file, passphrase } = options;
  return {
    kind: 'vault',
    async create(profileId, restore) {
      checkProfileId(profileId);
      const key =
        restore === undefined
          ? randomBytes(MASTER_KEY_BYTES)
          : checkKeyLength(Buffer.from(restore), 'The restored master key');
      try {
        await writeNewVault(file, key, passphrase);
      } catch (err) {
        key.fill(0);
        throw err;
      }
      return key;
    },
    async load(profileId) {
      checkProfileId(profileId);
      return checkKeyLength(await readVault(file, passphrase), `The passphrase vault ${file}`);
    },
    async remove(profileId) {
      checkProfileId(profileId);
      await rm(file, { force: true });
    },
  };
}
