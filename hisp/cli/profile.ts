/**
 * `sealpost profile init`: create a profile — its master key in the system keychain (or, by
 * choice, in a passphrase vault for a server without one) and its encrypted database.
 * The other profile subcommands (import-key, lock, unlock, export, audit) come with the key
 * and store work of the profile issue.
 */
import { join } from 'node:path';
import { keychainMasterKeySource, vaultMasterKeySource } from '../keys/masterKey.js';
import { initProfile, VAULT_FILE } from '../store/profile.js';
import { parseCommandArgs } from './args.js';
import { readSecret } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { profileDirOf } from './profileAccess.js';

export const PROFILE_HELP = `Usage: sealpost profile init --profile DIR [--vault --pass SPEC]

Creates a Sealpost profile in DIR (made with mode 700 if missing): a random master key and
the encrypted database it opens. The key is kept in the system keychain (Secret Service on
Linux, Keychain on macOS, Credential Manager on Windows) and never written to disk.

Options:
  --profile DIR   the profile directory
  --vault         keep the key in a passphrase vault (DIR/vault.json) instead: for a server
                  with no keychain. Every command that opens the profile then needs --pass.
  --pass SPEC     the vault passphrase: env:NAME or file:PATH (never a bare value)

Exit codes: 0 created; 1 usage; 2 not created (the message says why: a profile is already
there, the keychain cannot be reached, …).
`;

const MIN_PASSPHRASE = 12;

export async function profileCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'init') {
    throw new UsageError(
      'profile',
      sub === undefined ? 'say init' : `unknown subcommand ${JSON.stringify(sub)}: say init`,
    );
  }
  const command = 'profile init';
  const { values } = parseCommandArgs(command, rest, {
    profile: { type: 'string' },
    vault: { type: 'boolean' },
    pass: { type: 'string' },
  });
  const dir = profileDirOf(command, values.profile);
  let keySource;
  if (values.vault === true) {
    if (values.pass === undefined) {
      throw new UsageError(command, '--vault needs --pass env:NAME or --pass file:PATH');
    }
    const passphrase = await readSecret(command, values.pass, io.env);
    if ([...passphrase].length < MIN_PASSPHRASE) {
      throw new UsageError(
        command,
        `the vault passphrase must be at least ${MIN_PASSPHRASE} characters`,
      );
    }
    keySource = vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from(passphrase, 'utf8'),
    });
  } else {
    if (values.pass !== undefined) {
      throw new UsageError(command, '--pass is for --vault profiles only');
    }
    keySource = keychainMasterKeySource();
  }
  const profile = await initProfile(dir, { keySource });
  try {
    io.stdout(
      `Created profile ${profile.id} in ${profile.dir}; its key is in the ${
        profile.info.keySource === 'vault'
          ? `passphrase vault ${join(dir, VAULT_FILE)}`
          : 'system keychain'
      }.\n`,
    );
  } finally {
    profile.close();
  }
  return 0;
}
