/**
 * `sealpost profile init`: create a profile — its master key in the system keychain (or, by
 * choice, in a passphrase vault for a server without one) and its encrypted database.
 * The other profile subcommands (import-key, lock, unlock, export, audit) come with the key
 * and store work of the profile issue.
 */
import { existsSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { HispError, isErrorCode } from '../api/errors.js';
import type { MasterKeySource } from '../keys/masterKey.js';
import {
  BRIDGE_FILE,
  initProfile,
  openProfile,
  readProfileInfo,
  VAULT_FILE,
  type Profile,
} from '../store/profile.js';
import { parseCommandArgs } from './args.js';
import { makeDirectoryFor, outputFileError, readInputFile, readSecret } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { keySourceFor, masterKeySourceOf, PROFILE_OPTIONS, profileDirOf } from './profileAccess.js';

export const PROFILE_HELP = `Usage: sealpost profile init   --profile DIR [--vault --pass SPEC]
                               [--from-export FILE --export-pass SPEC]
       sealpost profile import-key --profile DIR ...   (see 'sealpost profile import-key --help')
       sealpost profile export --profile DIR [--pass SPEC] --out FILE --export-pass SPEC
       sealpost profile audit  --profile DIR ...        (see 'sealpost profile audit --help')
       sealpost profile lock   --profile DIR
       sealpost profile unlock --profile DIR [--pass SPEC]

init     creates a Sealpost profile in DIR (made with mode 700 if missing): a random master
         key and the encrypted database it opens. The key is kept in the system keychain
         (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) and
         never written to disk; with --vault, in a passphrase vault (DIR/vault.json) instead,
         for a server with no keychain. Commands that open a vault profile need --pass.
         With --from-export it restores a profile exported with 'profile export' (for a new
         machine): the same profile, its mail, trust, identities (private keys included) and
         audit log; its key goes to this machine's keychain (or a new vault with --vault).
export   writes the whole profile, encrypted under --export-pass (scrypt + AES-256-GCM), to
         FILE (mode 600). Keep the passphrase apart from the file.
lock     asks the Sealpost running on DIR ('sealpost serve') to lock the profile: it closes
         the encrypted database and forgets the keys until unlocked.
unlock   unlocks it again: with the keychain, or with --pass for a vault profile.

Options:
  --profile DIR   the profile directory
  --vault         (init) keep the key in a passphrase vault instead of the keychain
  --pass SPEC     the vault passphrase: env:NAME or file:PATH (never a bare value)
  --out FILE      (export) where to write the export
  --export-pass SPEC
                  the export's passphrase (at least 12 characters): env:NAME or file:PATH
  --from-export FILE
                  (init) restore this export

Exit codes: 0 done; 1 usage; 2 not done (the message says why: a profile is already
there, the keychain cannot be reached, no Sealpost is running on DIR, …).
`;

const MIN_PASSPHRASE = 12;

export async function profileCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'audit' && sub !== 'import-key' && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout(PROFILE_HELP);
    return 0;
  }
  if (sub === 'lock' || sub === 'unlock') return lockCommand(sub, rest, io);
  if (sub === 'export') return exportCommand(rest, io);
  if (sub === 'audit') {
    const { profileAuditCommand, PROFILE_AUDIT_HELP } = await import('./profileAudit.js');
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(PROFILE_AUDIT_HELP);
      return 0;
    }
    return profileAuditCommand(rest, io);
  }
  if (sub === 'import-key') {
    const { profileImportKeyCommand, PROFILE_IMPORT_KEY_HELP } =
      await import('./profileImportKey.js');
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(PROFILE_IMPORT_KEY_HELP);
      return 0;
    }
    return profileImportKeyCommand(rest, io);
  }
  if (sub !== 'init') {
    throw new UsageError(
      'profile',
      sub === undefined
        ? 'say init, import-key, export, audit, lock or unlock'
        : `unknown subcommand ${JSON.stringify(sub)}: say init, import-key, export, audit, lock or unlock`,
    );
  }
  const command = 'profile init';
  const { values } = parseCommandArgs(command, rest, {
    profile: { type: 'string' },
    vault: { type: 'boolean' },
    pass: { type: 'string' },
    'from-export': { type: 'string' },
    'export-pass': { type: 'string' },
  });
  const dir = profileDirOf(command, values.profile);
  let keySource: MasterKeySource;
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
    keySource = masterKeySourceOf('vault', dir, Buffer.from(passphrase, 'utf8'));
  } else {
    if (values.pass !== undefined) {
      throw new UsageError(command, '--pass is for --vault profiles only');
    }
    keySource = masterKeySourceOf('keychain', dir, undefined);
  }
  if ((values['from-export'] === undefined) !== (values['export-pass'] === undefined)) {
    throw new UsageError(command, '--from-export FILE and --export-pass SPEC go together');
  }
  const existed = existsSync(dir);
  await makeDirectoryFor(command, '--profile', dir);
  let profile: Profile;
  try {
    profile =
      values['from-export'] === undefined
        ? await initProfile(dir, { keySource })
        : await restoreFromExport(
            command,
            dir,
            values['from-export'],
            values['export-pass'] ?? '',
            keySource,
            io,
          );
  } catch (error) {
    // No profile came of it: the directory made for it goes (only if it is still empty).
    if (!existed) await rmdir(dir).catch(() => undefined);
    throw error;
  }
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

/** Lock or unlock the profile of the `sealpost serve` running on DIR, through its bridge. */
async function lockCommand(
  sub: 'lock' | 'unlock',
  args: readonly string[],
  io: CliIo,
): Promise<number> {
  const command = `profile ${sub}`;
  const { values } = parseCommandArgs(command, args, {
    profile: { type: 'string' },
    pass: { type: 'string' },
  });
  const dir = profileDirOf(command, values.profile);
  if (sub === 'lock' && values.pass !== undefined) {
    throw new UsageError(command, 'lock takes no --pass');
  }
  let bridge: { url: string; token: string };
  try {
    bridge = JSON.parse(await readFile(join(dir, BRIDGE_FILE), 'utf8')) as typeof bridge;
  } catch {
    throw new HispError(
      'NOT_FOUND',
      `No Sealpost is running on ${dir} (no ${BRIDGE_FILE}); a profile that is not open is already locked.`,
    );
  }
  const params =
    sub === 'unlock' && values.pass !== undefined
      ? { passphrase: await readSecret(command, values.pass, io.env) }
      : {};
  let response: Response;
  try {
    response = await fetch(new URL(`api/call/${sub}`, bridge.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
  } catch (error) {
    throw new HispError(
      'NOT_FOUND',
      `The Sealpost named in ${join(dir, BRIDGE_FILE)} does not answer (${error instanceof Error ? error.message : String(error)}).`,
    );
  }
  const answer = (await response.json()) as
    | { ok: true; result: { state: string } }
    | { ok: false; error: { code: string; message: string } };
  if (!answer.ok) {
    const code = isErrorCode(answer.error.code) ? answer.error.code : 'INTERNAL';
    throw new HispError(code, answer.error.message);
  }
  io.stdout(
    `The profile in ${dir} is ${answer.result.state === 'locked' ? 'locked' : 'unlocked'}.\n`,
  );
  return 0;
}

async function restoreFromExport(
  command: string,
  dir: string,
  file: string,
  exportPass: string,
  keySource: MasterKeySource,
  io: CliIo,
): Promise<Profile> {
  const [{ restoreProfile, EXPORT_MAX_BYTES }, { IdentityStore }, { AuditLog }] = await Promise.all(
    [import('../store/export.js'), import('../keys/identities.js'), import('../store/audit.js')],
  );
  const bytes = await readInputFile(command, '--from-export', file, EXPORT_MAX_BYTES);
  const passphrase = Buffer.from(await readSecret(command, exportPass, io.env), 'utf8');
  try {
    const profile = await restoreProfile(dir, bytes, {
      passphrase,
      keySource,
      secrets: (restored) => {
        const identities = new IdentityStore(restored);
        return {
          exportSecrets: () => identities.exportSecrets(),
          importSecrets: (keys) => identities.importSecrets(keys),
          discard: async (fingerprints) => {
            for (const fingerprint of fingerprints) {
              await identities.remove(fingerprint).catch(() => undefined);
            }
          },
        };
      },
    });
    new AuditLog(profile).append({ action: 'profile-restore', detail: { from: basename(file) } });
    return profile;
  } finally {
    passphrase.fill(0);
  }
}

/** `profile export`: the whole profile, encrypted under its own passphrase. */
async function exportCommand(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'profile export';
  const { values } = parseCommandArgs(command, args, {
    ...PROFILE_OPTIONS,
    out: { type: 'string' },
    'export-pass': { type: 'string' },
  });
  if (values.out === undefined) throw new UsageError(command, '--out FILE is required');
  if (values['export-pass'] === undefined) {
    throw new UsageError(command, '--export-pass env:NAME or file:PATH is required');
  }
  const exportPass = await readSecret(command, values['export-pass'], io.env);
  if ([...exportPass].length < MIN_PASSPHRASE) {
    throw new UsageError(
      command,
      `the export passphrase must be at least ${MIN_PASSPHRASE} characters`,
    );
  }
  const dir = profileDirOf(command, values.profile);
  const info = await readProfileInfo(dir);
  const source = await keySourceFor(command, info.keySource, dir, values.pass, io);
  const [{ exportProfile }, { IdentityStore }, { AuditLog }] = await Promise.all([
    import('../store/export.js'),
    import('../keys/identities.js'),
    import('../store/audit.js'),
  ]);
  const profile = await openProfile(dir, { keySourceFor: () => source });
  const passphrase = Buffer.from(exportPass, 'utf8');
  try {
    const masterKey = await source.load(profile.id);
    try {
      // Recorded first, so the export carries its own record and a failed write still
      // leaves a trace of the attempt.
      new AuditLog(profile).append({
        action: 'profile-export',
        detail: { file: basename(values.out) },
      });
      const out = values.out;
      const written = await exportProfile(profile, masterKey, resolve(out), {
        passphrase,
        secrets: new IdentityStore(profile),
      }).catch((error: unknown) => {
        throw outputFileError(command, '--out', out, error, true);
      });
      io.stdout(
        `Exported profile ${profile.id} (${written.rows} rows in ${written.tables} tables, ${written.bytes} bytes, encrypted) to ${resolve(values.out)}.\n`,
      );
    } finally {
      masterKey.fill(0);
    }
  } finally {
    passphrase.fill(0);
    profile.close();
  }
  return 0;
}
