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

/** The key source for a profile kept by `kind`; a vault needs the passphrase. */
export async function keySourceFor(
  command: string,
  kind: KeySourceKind,
  dir: string,
  passSpec: string | undefined,
  io: CliIo,
): Promise<MasterKeySource> {
  if (kind === 'keychain') {
    if (passSpec !== undefined) {
      throw new UsageError(
        command,
        'this profile keeps its key in the system keychain; --pass is only for vault profiles',
      );
    }
    return keychainMasterKeySource();
  }
  if (passSpec === undefined) {
    throw new UsageError(
      command,
      'this profile keeps its key in a passphrase vault: give --pass env:NAME or --pass file:PATH',
    );
  }
  const passphrase = Buffer.from(await readSecret(command, passSpec, io.env), 'utf8');
  return vaultMasterKeySource({ file: join(dir, VAULT_FILE), passphrase });
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
