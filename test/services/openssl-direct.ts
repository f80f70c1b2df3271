/**
 * OpenSSL as the independent Direct peer: builds Direct messages the way another
 * implementation would (wrap, sign, then encrypt, with `openssl cms` or `openssl smime`) and
 * opens ours (decrypt, then verify against the anchor); makes what other parties hand a
 * practice: trust bundles (`crl2pkcs7`, `cms -sign`) and PKCS#12 identity files. Shared by the
 * interop tests, the command-line and settings tests and the benchmark.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentCipher, KeyTransport, SigningDigest } from '../../hisp/agent/types.js';
import type { CertFiles } from './certs.js';
import { run } from './proc.js';

/** `openssl cms` cipher flags. */
export const OPENSSL_CIPHER: Readonly<Record<ContentCipher, string>> = {
  'aes128-cbc': '-aes128',
  'aes192-cbc': '-aes192',
  'aes256-cbc': '-aes256',
  'aes128-gcm': '-aes-128-gcm',
  'aes192-gcm': '-aes-192-gcm',
  'aes256-gcm': '-aes-256-gcm',
};

/** `-keyopt`s for a recipient (they apply to the `-recip` before them). */
export const OPENSSL_KEYOPT: Readonly<Record<KeyTransport, readonly string[]>> = {
  'oaep-sha1': ['-keyopt', 'rsa_padding_mode:oaep'],
  'oaep-sha256': [
    '-keyopt',
    'rsa_padding_mode:oaep',
    '-keyopt',
    'rsa_oaep_md:sha256',
    '-keyopt',
    'rsa_mgf1_md:sha256',
  ],
  'oaep-sha384': [
    '-keyopt',
    'rsa_padding_mode:oaep',
    '-keyopt',
    'rsa_oaep_md:sha384',
    '-keyopt',
    'rsa_mgf1_md:sha384',
  ],
  'oaep-sha512': [
    '-keyopt',
    'rsa_padding_mode:oaep',
    '-keyopt',
    'rsa_oaep_md:sha512',
    '-keyopt',
    'rsa_mgf1_md:sha512',
  ],
  pkcs1: [],
};

export const WRAP_HEADER = 'Content-Type: message/rfc822\r\n\r\n';

export interface OpensslSendOptions {
  /** Where the intermediate files go. */
  readonly dir: string;
  readonly signer: CertFiles;
  readonly recipient: CertFiles;
  readonly cipher?: ContentCipher;
  readonly keyTransport?: KeyTransport;
  readonly digest?: SigningDigest;
  /** Wrap `content` as message/rfc822 first (default), or sign it as given (unwrapped). */
  readonly wrap?: boolean;
  /** `cms` (default) or the older `smime` (application/x-pkcs7-*; CBC and PKCS#1 only). */
  readonly command?: 'cms' | 'smime';
  /** BER with indefinite lengths and chunked content (`-stream -indef`). */
  readonly stream?: boolean;
  /** Extra certificates to carry in the signature (e.g. the CA). */
  readonly certfile?: string;
  readonly from?: string;
  readonly to?: string;
  readonly subject?: string;
}

/** Signs then encrypts `content` with OpenSSL; returns the Direct message's path. */
export async function opensslSend(content: Buffer, options: OpensslSendOptions): Promise<string> {
  const command = options.command ?? 'cms';
  const tag = randomBytes(6).toString('hex');
  const input = join(options.dir, `openssl-${tag}.in`);
  const signed = join(options.dir, `openssl-${tag}.signed`);
  const out = join(options.dir, `openssl-${tag}.eml`);
  await writeFile(
    input,
    options.wrap === false ? content : Buffer.concat([Buffer.from(WRAP_HEADER), content]),
  );
  await run(
    'openssl',
    [
      command,
      '-sign',
      '-binary',
      '-in',
      input,
      '-signer',
      options.signer.certPath,
      '-inkey',
      options.signer.keyPath,
      ...(options.digest ? ['-md', options.digest] : []),
      ...(options.certfile ? ['-certfile', options.certfile] : []),
      '-out',
      signed,
    ],
    { timeoutMs: 120_000 },
  );
  const recipient =
    command === 'smime'
      ? [options.recipient.certPath]
      : ['-recip', options.recipient.certPath, ...OPENSSL_KEYOPT[options.keyTransport ?? 'pkcs1']];
  const headers = [
    ...(options.from ? ['-from', options.from] : []),
    ...(options.to ? ['-to', options.to] : []),
    ...(options.subject ? ['-subject', options.subject] : []),
  ];
  await run(
    'openssl',
    [
      command,
      '-encrypt',
      '-binary',
      ...(options.stream ? ['-stream', '-indef'] : []),
      '-in',
      signed,
      OPENSSL_CIPHER[options.cipher ?? 'aes256-cbc'],
      ...headers,
      '-out',
      out,
      ...recipient,
    ],
    { timeoutMs: 120_000 },
  );
  return out;
}

export interface OpensslReceiveOptions {
  readonly dir: string;
  readonly recipient: CertFiles;
  readonly caPath: string;
  readonly command?: 'cms' | 'smime';
}

/** Decrypts and verifies a Direct message with OpenSSL; returns the signed content. */
export async function opensslReceive(
  message: Buffer | string,
  options: OpensslReceiveOptions,
): Promise<Buffer> {
  const command = options.command ?? 'cms';
  const tag = randomBytes(6).toString('hex');
  let path = message;
  if (Buffer.isBuffer(message)) {
    path = join(options.dir, `received-${tag}.eml`);
    await writeFile(path, message);
  }
  const decrypted = join(options.dir, `received-${tag}.dec`);
  const verified = join(options.dir, `received-${tag}.ver`);
  await run(
    'openssl',
    [
      command,
      '-decrypt',
      '-in',
      String(path),
      '-recip',
      options.recipient.certPath,
      '-inkey',
      options.recipient.keyPath,
      '-out',
      decrypted,
    ],
    { timeoutMs: 120_000 },
  );
  await run(
    'openssl',
    [command, '-verify', '-in', decrypted, '-CAfile', options.caPath, '-out', verified],
    { timeoutMs: 120_000 },
  );
  return readFile(verified);
}

/**
 * The two-step conversion our PKCS12_UNSUPPORTED message gives for a legacy (RC2) PKCS#12
 * file with an empty password: `-legacy` to PEM, then export again with OpenSSL 3's defaults.
 * The intermediate PEM (it holds the private key) is shredded. Returns the new file's path.
 */
export async function convertLegacyPkcs12(legacy: string, dir: string): Promise<string> {
  const tmpPem = join(dir, 'tmp.pem');
  const converted = join(dir, 'converted.p12');
  await run('openssl', [
    'pkcs12',
    '-legacy',
    '-in',
    legacy,
    '-nodes',
    '-out',
    tmpPem,
    '-passin',
    'pass:',
  ]);
  await run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    tmpPem,
    '-out',
    converted,
    '-passout',
    'pass:',
  ]);
  await run('shred', ['-u', tmpPem]);
  return converted;
}

/** A certificate and its private key, as files (CertFiles, or a TestPki `Issued`). */
export type KeyAndCertFiles = Pick<CertFiles, 'certPath' | 'keyPath'>;

/**
 * An unsigned trust bundle: a certs-only PKCS#7 (`openssl crl2pkcs7 -nocrl`, DER) of `certs`
 * (PEM text each; none makes an empty bundle) at `dir/<name>.p7b`. Returns its path.
 */
export async function opensslUnsignedBundle(
  dir: string,
  name: string,
  certs: readonly { readonly pem: string }[],
): Promise<string> {
  const pem = join(dir, `${name}.certs.pem`);
  await writeFile(pem, certs.map((cert) => cert.pem).join(''));
  const out = join(dir, `${name}.p7b`);
  await run('openssl', ['crl2pkcs7', '-nocrl', '-certfile', pem, '-outform', 'DER', '-out', out]);
  return out;
}

/**
 * A signed trust bundle, as DirectTrust publishes them: the unsigned bundle of `certs` wrapped
 * in CMS SignedData by `signer` (`openssl cms -sign -nodetach -binary -md sha256`, DER) at
 * `dir/<name>.signed.p7b`. Returns its path.
 */
export async function opensslSignedBundle(
  dir: string,
  name: string,
  certs: readonly { readonly pem: string }[],
  signer: KeyAndCertFiles,
): Promise<string> {
  const inner = await opensslUnsignedBundle(dir, `${name}.inner`, certs);
  const out = join(dir, `${name}.signed.p7b`);
  await run('openssl', [
    'cms',
    '-sign',
    '-nodetach',
    '-binary',
    '-md',
    'sha256',
    '-in',
    inner,
    '-signer',
    signer.certPath,
    '-inkey',
    signer.keyPath,
    '-outform',
    'DER',
    '-out',
    out,
  ]);
  return out;
}

export interface Pkcs12Options {
  /** More certificates to carry (`-certfile`, e.g. the issuing CA). */
  readonly chain?: string;
  /** Old-style `-legacy` (RC2-40 certificates, 3DES key) instead of OpenSSL 3's AES and PBKDF2. */
  readonly legacy?: boolean;
  /** More `openssl pkcs12 -export` arguments. */
  readonly args?: readonly string[];
}

/**
 * A PKCS#12 file of `identity`'s key and certificate at `out`, protected by `password`, as a
 * practice's IT exports one (`openssl pkcs12 -export`). Returns `out`.
 */
export async function opensslPkcs12(
  identity: KeyAndCertFiles,
  out: string,
  password: string,
  options: Pkcs12Options = {},
): Promise<string> {
  await run('openssl', [
    'pkcs12',
    '-export',
    '-in',
    identity.certPath,
    '-inkey',
    identity.keyPath,
    ...(options.chain === undefined ? [] : ['-certfile', options.chain]),
    '-out',
    out,
    '-passout',
    `pass:${password}`,
    ...(options.legacy === true ? ['-legacy'] : []),
    ...(options.args ?? []),
  ]);
  return out;
}
