/**
 * Importing a Direct identity (a certificate and its private key) into a profile: what
 * `sealpost profile import-key` and the mail window's `importIdentity` call share. Reading
 * (PKCS#12, or a key file with its certificate file) is apart from keeping, so the command
 * line can report a wrong password before it unlocks the profile. Keeping goes through
 * IdentityStore (keychain or wrapped in the encrypted database) and is written to the audit
 * log as 'key-import' — once: importing the same certificate again changes nothing.
 */
import type { KeyObject } from 'node:crypto';
import { HispError } from '../api/errors.js';
import {
  parseCertificate,
  readCertificates,
  type ParsedCertificate,
} from '../certs/certificate.js';
import { AuditLog } from '../store/audit.js';
import type { Profile } from '../store/profile.js';
import { IdentityStore, type IdentityRecord } from './identities.js';
import { keyMatchesCertificate } from './match.js';
import { readPkcs12 } from './material.js';

/** An identity read from files, not kept yet. */
export interface IdentityFile {
  readonly key: KeyObject;
  readonly cert: ParsedCertificate;
  readonly chain: ParsedCertificate[];
}

/**
 * The identity in a PKCS#12 file.
 * @throws HispError PKCS12_BAD_PASSWORD, PKCS12_UNSUPPORTED (legacy RC2/RC4/DES: the message
 * gives the OpenSSL commands that convert it), PKCS12_MALFORMED, KEY_CERT_MISMATCH,
 * CERT_MALFORMED.
 */
export function readPkcs12Identity(bytes: Uint8Array, password: string): IdentityFile {
  const contents = readPkcs12(bytes, password);
  return {
    key: contents.key,
    cert: parseCertificate(contents.certDer),
    chain: contents.chainDer.map((der) => parseCertificate(der)),
  };
}

/**
 * The identity of a private key (read with readPrivateKey) and a certificate file: the key's
 * certificate is the one whose public key it is; the other certificates in that file are its
 * chain. `names` say which files they were, for the message when the key belongs to none.
 * @throws HispError CERT_MALFORMED, KEY_CERT_MISMATCH.
 */
export function identityOfKey(
  key: KeyObject,
  certBytes: Uint8Array,
  names: { readonly key: string; readonly cert: string },
): IdentityFile {
  const certs = readCertificates(certBytes);
  const cert = certs.find((c) => keyMatchesCertificate(key, c.x509));
  if (cert === undefined) {
    const [first] = certs;
    throw new HispError(
      'KEY_CERT_MISMATCH',
      `The private key in ${names.key} does not belong to ${
        certs.length === 1 && first !== undefined
          ? `the certificate "${first.subject}"`
          : `any of the ${certs.length} certificates`
      } in ${names.cert}.`,
    );
  }
  return { key, cert, chain: certs.filter((c) => c !== cert) };
}

export interface ImportedIdentity {
  readonly record: IdentityRecord;
  /** The certificate was in the profile already: nothing changed, nothing was audited. */
  readonly already: boolean;
}

/**
 * Keep `identity` in the open `profile` and audit it as 'key-import' (once).
 * @throws HispError KEY_CERT_MISMATCH, CERT_EXPIRED, WEAK_KEY, LIMIT_EXCEEDED, KEYCHAIN_*,
 * PROFILE_LOCKED.
 */
export async function importIdentity(
  profile: Profile,
  identity: IdentityFile,
  identities: IdentityStore = new IdentityStore(profile),
): Promise<ImportedIdentity> {
  const already = identities
    .list()
    .some((r) => r.fingerprintSha256 === identity.cert.fingerprintSha256);
  const record = await identities.import(identity);
  if (!already) {
    new AuditLog(profile).append({
      action: 'key-import',
      counterpart: record.addresses[0]?.address,
      detail: { fingerprint: record.fingerprintSha256, keyLocation: record.keyLocation },
    });
  }
  return { record, already };
}

/** Read a PKCS#12 file and keep its identity: {@link readPkcs12Identity}, {@link importIdentity}. */
export async function importIdentityFile(
  profile: Profile,
  bytes: Uint8Array,
  options: { readonly password: string; readonly identities?: IdentityStore },
): Promise<ImportedIdentity> {
  return importIdentity(profile, readPkcs12Identity(bytes, options.password), options.identities);
}
