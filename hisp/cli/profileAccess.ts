/**
 * Opening a profile from the command line: `--profile DIR`, and for a passphrase-vault
 * profile `--pass env:NAME|file:PATH`. The key source is whatever the profile was created
 * with (profile.json says), never a silent fallback from one to the other.
 */
import { join, resolve } from 'node:path';
import {
  keychainMasterKeySource,
  vaultMasterKeySource,
  type MasterKeySource,
} from '../keys/masterKey.js';
import {
  openProfile,
  readProfileInfo,
  VAULT_FILE,
  type KeySourceKind,
  type Profile,
} from '../store/profile.js';
import { readSecret } from './files.js';
import { UsageError, type CliIo } from './io.js';

export const PROFILE_OPTIONS = {
  profile: { type: 'string' },
  pass: { type: 'string' },
} as const;

export const PROFILE_OPTIONS_HELP = `  --profile DIR        the profile directory (see 'sealpost profile init')
  --pass SPEC          a vault profile's passphrase: env:NAME or file:PATH`;

export function profileDirOf(command: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new UsageError(command, '--profile DIR is required');
  }
  return resolve(value);
}

/**
 * The vault passphrase `--pass` names, for a profile kept by `kind`: required for a vault
 * profile, refused for a keychain profile (undefined then).
 */
export async function profilePassphrase(
  command: string,
  kind: KeySourceKind,
  passSpec: string | undefined,
  io: CliIo,
): Promise<Buffer | undefined> {
  if (kind === 'keychain') {
    if (passSpec !== undefined) {
      throw new UsageError(
        command,
        'this profile keeps its key in the system keychain; --pass is only for vault profiles',
      );
    }
    return undefined;
  }
  if (passSpec === undefined) {
    throw new UsageError(
      command,
      'this profile keeps its key in a passphrase vault: give --pass env:NAME or --pass file:PATH',
    );
  }
  return Buffer.from(await readSecret(command, passSpec, io.env), 'utf8');
}

/** The keychain, or the vault file of the profile in `dir` opened with `passphrase`. */
export function masterKeySourceOf(
  kind: KeySourceKind,
  dir: string,
  passphrase: Buffer | undefined,
): MasterKeySource {
  return kind === 'keychain'
    ? keychainMasterKeySource()
    : vaultMasterKeySource({
        file: join(dir, VAULT_FILE),
        passphrase: passphrase ?? Buffer.alloc(0),
      });
}

/** The key source for a profile kept by `kind`; a vault needs the passphrase. */
export async function keySourceFor(
  command: string,
  kind: KeySourceKind,
  dir: string,
  passSpec: string | undefined,
  io: CliIo,
): Promise<MasterKeySource> {
  return masterKeySourceOf(kind, dir, await profilePassphrase(command, kind, passSpec, io));
}

/** Open the profile named by --profile/--pass; the caller closes it. */
export async function openProfileFromArgs(
  command: string,
  values: { readonly profile?: string | undefined; readonly pass?: string | undefined },
  io: CliIo,
): Promise<Profile> {
  const dir = profileDirOf(command, values.profile);
  const info = await readProfileInfo(dir);
  const source = await keySourceFor(command, info.keySource, dir, values.pass, io);
  return openProfile(dir, { keySourceFor: () => source });
}
