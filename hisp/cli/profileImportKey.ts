/**
 * `sealpost profile import-key`: keep a Direct identity (certificate + private key) in the
 * profile — the key in the system keychain for a keychain profile, wrapped in the encrypted
 * database for a vault profile (hisp/keys/identities.ts). Nothing of the key is printed,
 * logged or written anywhere else.
 */
import { HispError } from '../api/errors.js';
import { readCertificates } from '../certs/certificate.js';
import type { IdentityRecord } from '../keys/identities.js';
import {
  importIdentity,
  identityOfKey,
  readPkcs12Identity,
  type IdentityFile,
} from '../keys/importIdentity.js';
import { KEY_LIMITS } from '../keys/limits.js';
import { readPrivateKey } from '../keys/material.js';
import { parseCommandArgs } from './args.js';
import { readInputFile, readSecret } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { openProfileFromArgs, PROFILE_OPTIONS, PROFILE_OPTIONS_HELP } from './profileAccess.js';

const COMMAND = 'profile import-key';

export const PROFILE_IMPORT_KEY_HELP = `Usage: sealpost profile import-key --profile DIR [--pass SPEC] --p12 FILE [--p12-pass SPEC]
       sealpost profile import-key --profile DIR [--pass SPEC] --key FILE [--key-pass SPEC]
                                   --cert FILE [--chain FILE ...]

Imports a Direct identity — a certificate and its private key — into the profile. In a
keychain profile the private key is kept in the system keychain and nothing of it in the
profile's files; in a vault profile it is kept encrypted inside the encrypted database.
Importing the same certificate again changes nothing.

--p12 reads a PKCS#12 file (.p12/.pfx). Files made by OpenSSL 3 and current Windows/macOS
exports (PBES2 with AES, or 3DES) are read; older files protected with RC2 or RC4 are
refused with the OpenSSL commands that convert them. --key with --cert reads a private key
(PEM or DER: PKCS#8, encrypted PKCS#8, PKCS#1 or SEC1) and its certificate (PEM or DER;
further certificates in that file, and every --chain file, are sent with it as its chain).

Expired certificates, weak keys (RSA under 2048 bits) and a key that is not the
certificate's are refused.

Options:
${PROFILE_OPTIONS_HELP}
  --p12 FILE           the PKCS#12 file
  --p12-pass SPEC      its password: env:NAME or file:PATH (empty if omitted)
  --key FILE           the private key
  --key-pass SPEC      the key's password, if it is encrypted: env:NAME or file:PATH
  --cert FILE          the certificate (with, optionally, its chain after it)
  --chain FILE         intermediate certificates to send with it (PEM, DER or .p7b; repeatable)

Prints the identity: subject, addresses, SHA-256 fingerprint, validity and where the key
is kept.

Exit codes: 0 imported (or already there); 1 usage; 2 not imported (the message says why,
with its code: PKCS12_BAD_PASSWORD, PKCS12_UNSUPPORTED, PKCS12_MALFORMED, KEY_MALFORMED,
CERT_MALFORMED, KEY_CERT_MISMATCH, CERT_EXPIRED, WEAK_KEY, KEYCHAIN_*, …).
`;

const OPTIONS = {
  ...PROFILE_OPTIONS,
  p12: { type: 'string' },
  'p12-pass': { type: 'string' },
  key: { type: 'string' },
  'key-pass': { type: 'string' },
  cert: { type: 'string' },
  chain: { type: 'string', multiple: true },
} as const;

/** readSecret, with its messages naming the flag actually used. */
async function secretFrom(flag: string, spec: string | undefined, io: CliIo): Promise<string> {
  try {
    return await readSecret(COMMAND, spec, io.env);
  } catch (error) {
    if (error instanceof UsageError) {
      throw new UsageError(COMMAND, error.message.replace(/^--pass\b/, flag));
    }
    throw error;
  }
}

async function readIdentity(
  values: {
    p12?: string | undefined;
    'p12-pass'?: string | undefined;
    key?: string | undefined;
    'key-pass'?: string | undefined;
    cert?: string | undefined;
    chain?: string[] | undefined;
  },
  io: CliIo,
): Promise<IdentityFile> {
  if (values.p12 !== undefined) {
    if (values.key !== undefined || values.cert !== undefined || values.chain !== undefined) {
      throw new UsageError(COMMAND, 'give either --p12, or --key with --cert, not both');
    }
    if (values['key-pass'] !== undefined) {
      throw new UsageError(COMMAND, '--key-pass goes with --key; a PKCS#12 file takes --p12-pass');
    }
    const password = await secretFrom('--p12-pass', values['p12-pass'], io);
    const data = await readInputFile(COMMAND, '--p12', values.p12, KEY_LIMITS.pkcs12Bytes);
    return readPkcs12Identity(data, password);
  }
  if (values['p12-pass'] !== undefined) {
    throw new UsageError(COMMAND, '--p12-pass goes with --p12');
  }
  if (values.key === undefined || values.cert === undefined) {
    throw new UsageError(
      COMMAND,
      'an identity is required: --p12 FILE, or --key FILE with --cert FILE',
    );
  }
  const keyPassword =
    values['key-pass'] === undefined
      ? undefined
      : await secretFrom('--key-pass', values['key-pass'], io);
  const key = readPrivateKey(
    await readInputFile(COMMAND, '--key', values.key, KEY_LIMITS.keyFileBytes),
    keyPassword,
  );
  const { cert, chain } = identityOfKey(
    key,
    await readInputFile(COMMAND, '--cert', values.cert, KEY_LIMITS.certFileBytes),
    { key: values.key, cert: values.cert },
  );
  for (const file of values.chain ?? []) {
    chain.push(
      ...readCertificates(await readInputFile(COMMAND, '--chain', file, KEY_LIMITS.certFileBytes)),
    );
  }
  return { key, cert, chain };
}

function describe(record: IdentityRecord, already: boolean): string {
  const addresses =
    record.addresses.length === 0
      ? 'none (the certificate binds no address or domain)'
      : record.addresses
          .map((a) => `${a.address} (${a.bound === 'address' ? 'address' : 'domain'}-bound)`)
          .join(', ');
  const where =
    record.keyLocation === 'keychain'
      ? 'the system keychain'
      : "the profile's encrypted database (wrapped with the vault key)";
  return [
    already
      ? 'This identity was already in the profile; nothing changed.'
      : 'Imported the identity:',
    `  subject:      ${record.subject}`,
    `  addresses:    ${addresses}`,
    `  fingerprint:  ${record.fingerprintSha256} (SHA-256)`,
    `  valid from:   ${record.notBefore.toISOString()}`,
    `  valid until:  ${record.notAfter.toISOString()}`,
    `  private key:  in ${where}`,
    ...(record.chain.length > 0
      ? [`  chain:        ${record.chain.map((c) => `"${c.subject}"`).join(', ')}`]
      : []),
    '',
  ].join('\n');
}

export async function profileImportKeyCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(COMMAND, args, OPTIONS);
  if (values.help === true) {
    io.stdout(PROFILE_IMPORT_KEY_HELP);
    return 0;
  }
  if (values.profile === undefined || values.profile === '') {
    throw new UsageError(COMMAND, '--profile DIR is required');
  }
  try {
    // The files first: a typo or a wrong password is reported before the profile is unlocked.
    const identity = await readIdentity(values, io);
    const profile = await openProfileFromArgs(COMMAND, values, io);
    try {
      const { record, already } = await importIdentity(profile, identity);
      io.stdout(describe(record, already));
    } finally {
      profile.close();
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const hispError = HispError.from(error);
    if (hispError.code === 'INTERNAL') throw error;
    io.stderr(`sealpost ${COMMAND}: ${hispError.message} [${hispError.code}]\n`);
    return 2;
  }
}
