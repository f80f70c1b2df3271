/**
 * PKCS#12 (RFC 7292) reading: one identity — a private key and its certificate — plus the
 * other certificates in the file.
 *
 *   PFX ::= SEQUENCE {
 *     version   INTEGER {v3(3)}(v3,...),
 *     authSafe  ContentInfo,                 -- data: OCTET STRING of AuthenticatedSafe
 *     macData   MacData OPTIONAL }
 *   MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
 *   AuthenticatedSafe ::= SEQUENCE OF ContentInfo   -- data, encryptedData or envelopedData
 *   SafeContents ::= SEQUENCE OF SafeBag
 *   SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OF Attribute OPTIONAL }
 *
 * Order of checks: the MAC first (RFC 7292 §5.1 with the Appendix B KDF over SHA-1/2, or
 * PBMAC1 per RFC 9579), so a wrong password is PKCS12_BAD_PASSWORD before anything is
 * decrypted; then each section is decrypted (PBES2, PKCS#12 3DES PBE). A section protected
 * with RC2/RC4 (OpenSSL's pre-3.0 default for certificates, and the ETT test file) cannot be
 * read with Node's OpenSSL 3 default provider: the whole file is refused with
 * PKCS12_UNSUPPORTED and the OpenSSL commands that convert it, rather than importing an
 * identity with its certificates silently missing.
 *
 * Nothing is written to disk or logged; the decrypted key exists only as a KeyObject.
 */
import {
  X509Certificate,
  createHmac,
  createPrivateKey,
  pbkdf2Sync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

import { type BerReader, type Tlv, contextTag, UniversalTag } from '../asn1/ber.js';
import { HispError } from '../api/errors.js';
import { KEY_LIMITS } from './limits.js';
import { keyMatchesCertificate } from './match.js';
import {
  DecryptError,
  OID as ALG,
  UnsupportedAlgorithmError,
  decryptPrivateKeyInfo,
  decryptWithPassword,
  digestInfo,
  hmacPrf,
  parsePbeScheme,
  parsePbkdf2,
  pkcs12Kdf,
  pkcs12PasswordVariants,
  utf8Password,
} from './pbe.js';
import { looksLikePem } from './pem.js';
import {
  Asn1Error,
  asBuffer,
  isUniversal,
  keyReader,
  octetStringValue,
  sequenceItems,
} from './reader.js';

export interface Pkcs12Contents {
  readonly key: KeyObject;
  /** The certificate whose public key is the key's (DER). */
  readonly certDer: Buffer;
  /** The other certificates in the file, in file order, without duplicates (DER). */
  readonly chainDer: readonly Buffer[];
  /** The friendlyName attribute of the key or its certificate, when the file has one. */
  readonly friendlyName?: string;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  crlBag: '1.2.840.113549.1.12.10.1.4',
  secretBag: '1.2.840.113549.1.12.10.1.5',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
} as const;

/**
 * The message for files we cannot decrypt: what to run, and what to clean up. (A plain pipe
 * into `openssl pkcs12 -export` does not work with OpenSSL 3.0: it reads `-in` twice, once
 * for the key and once for the certificates; hence the bash variant with two inputs.)
 */
export function conversionAdvice(): string {
  return [
    'Convert it once with OpenSSL 3 and import the new file:',
    '  openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem',
    '  openssl pkcs12 -export -in tmp.pem -out new.p12',
    'then delete tmp.pem securely, because it holds the private key unencrypted:',
    '  shred -u tmp.pem',
    '(for a file with an empty password, add -passin pass: to the first command).',
    'Or, in bash, without a temporary file (the old password is read once into P12PASS):',
    "  read -rsp 'Old password: ' P12PASS; export P12PASS",
    '  openssl pkcs12 -export -inkey <(openssl pkcs12 -legacy -in old.p12 -nocerts -nodes -passin env:P12PASS) -in <(openssl pkcs12 -legacy -in old.p12 -nokeys -passin env:P12PASS) -out new.p12',
    '  unset P12PASS',
  ].join('\n');
}

function malformed(message: string, cause?: unknown): HispError {
  return new HispError('PKCS12_MALFORMED', message, cause === undefined ? undefined : { cause });
}

function badPassword(message: string, cause?: unknown): HispError {
  return new HispError('PKCS12_BAD_PASSWORD', message, cause === undefined ? undefined : { cause });
}

interface Bag {
  readonly localKeyId: Buffer | undefined;
  readonly friendlyName: string | undefined;
}
interface KeyBag extends Bag {
  readonly pkcs8: Buffer;
}
interface CertBag extends Bag {
  readonly der: Buffer;
}

/** `[0] EXPLICIT`, as in ContentInfo and SafeBag. */
const EXPLICIT_0 = contextTag(0, true);

/** Working state while walking the file. */
class Walk {
  readonly keys: KeyBag[] = [];
  readonly certs: CertBag[] = [];
  /** Sections we could not decrypt: what they held (if known) and the algorithm. */
  readonly unreadable: { what: string; algorithm: string }[] = [];
  readonly readableKeyAlgorithms: string[] = [];
  bags = 0;
  constructor(
    /** Reads the AuthenticatedSafe; what is found inside is read by readers derived from it,
     * so the whole walk shares one KEY_LIMITS.asn1Nodes budget. */
    readonly reader: BerReader,
    readonly password: string,
    readonly macVerified: boolean,
  ) {}
}

/**
 * The private key, its certificate (the one whose public key is the key's; a certificate with
 * the key's localKeyId is preferred) and the other certificates.
 *
 * @throws HispError
 * - PKCS12_BAD_PASSWORD: the MAC does not verify (wrong password or damaged file), or, in a
 *   file without a MAC, the key does not decrypt.
 * - PKCS12_UNSUPPORTED: RC2/RC4/DES sections (message gives the conversion commands),
 *   public-key integrity or privacy modes, more than one private key.
 * - PKCS12_MALFORMED: not PKCS#12, damaged structure, no key or no certificate, a limit.
 * - KEY_CERT_MISMATCH: no certificate in the file belongs to the key.
 */
export function readPkcs12(data: Uint8Array, password: string): Pkcs12Contents {
  if (data.byteLength > KEY_LIMITS.pkcs12Bytes)
    throw malformed(
      `The file is larger than ${KEY_LIMITS.pkcs12Bytes} bytes, so it is not a PKCS#12 identity.`,
    );
  if (password.length > KEY_LIMITS.passwordChars)
    throw badPassword(`The password is longer than ${KEY_LIMITS.passwordChars} characters.`);
  const buf = asBuffer(data);
  if (buf.length === 0) throw malformed('The PKCS#12 file is empty.');
  if (looksLikePem(buf))
    throw malformed(
      'This is a PEM file, not PKCS#12: give the certificate and key files separately (--cert and --key).',
    );
  try {
    return readPfx(buf, password);
  } catch (error) {
    if (error instanceof HispError) throw error;
    if (error instanceof Asn1Error)
      throw malformed(`The PKCS#12 file is damaged or not PKCS#12 (${error.message}).`, error);
    if (error instanceof UnsupportedAlgorithmError)
      throw new HispError(
        'PKCS12_UNSUPPORTED',
        `The PKCS#12 file uses ${error.algorithm}, which Sealpost does not read. ${conversionAdvice()}`,
        { cause: error },
      );
    throw error;
  }
}

function readPfx(buf: Buffer, password: string): Pkcs12Contents {
  const reader = keyReader(buf);
  const [versionNode, authSafe, macData] = sequenceItems(reader, reader.root(), 'PFX', 2);
  const version = reader.unsignedInteger(versionNode, 'PFX version');
  if (version !== 3)
    throw malformed(`The PKCS#12 file has version ${version}; only version 3 exists.`);
  if (authSafe === undefined) throw new Asn1Error('PFX: missing authSafe');
  const [typeNode, contentNode] = sequenceItems(reader, authSafe, 'authSafe', 1);
  const contentType = reader.oid(typeNode, 'authSafe content type');
  if (contentType === OID.signedData)
    throw new HispError(
      'PKCS12_UNSUPPORTED',
      'The PKCS#12 file uses public-key integrity mode (signed), which Sealpost does not read. Export it again with a password.',
    );
  if (contentType !== OID.data)
    throw new Asn1Error(`authSafe: unexpected content type ${contentType}`);
  if (contentNode === undefined) throw new Asn1Error('authSafe: missing content');
  const authSafeBytes = octetStringValue(
    reader,
    reader.explicit(contentNode, EXPLICIT_0, 'authSafe'),
    'authSafe',
  );

  let macVerified = false;
  if (macData !== undefined) {
    verifyMac(reader, macData, authSafeBytes, password);
    macVerified = true;
  }

  const walk = new Walk(keyReader(authSafeBytes), password, macVerified);
  const contentInfos = sequenceItems(walk.reader, walk.reader.root(), 'AuthenticatedSafe');
  if (contentInfos.length > KEY_LIMITS.authSafeContents)
    throw malformed(`The PKCS#12 file has more than ${KEY_LIMITS.authSafeContents} sections.`);
  try {
    for (const info of contentInfos) readContentInfo(walk, walk.reader, info);
    return choose(walk);
  } finally {
    // Decrypted PrivateKeyInfo bytes live on only inside the KeyObject.
    for (const bag of walk.keys) bag.pkcs8.fill(0);
  }
}

// ── MAC ─────────────────────────────────────────────────────────────────────────────────────

function verifyMac(reader: BerReader, macData: Tlv, authSafe: Buffer, password: string): void {
  const [digestInfoNode, saltNode, iterNode] = sequenceItems(reader, macData, 'MacData', 2);
  const [algNode, macNode] = sequenceItems(reader, digestInfoNode, 'MacData digest', 2);
  const [oidNode, params] = sequenceItems(reader, algNode, 'MacData algorithm', 1);
  const oid = reader.oid(oidNode, 'MacData algorithm');
  const expected = octetStringValue(reader, macNode, 'MAC value');
  let candidates: Buffer[];
  if (oid === ALG.pbmac1) {
    candidates = pbmac1Candidates(reader, params, authSafe, password);
  } else {
    const hash = digestInfo(oid);
    const salt = octetStringValue(reader, saltNode, 'MAC salt');
    if (salt.length > KEY_LIMITS.saltBytes)
      throw new Asn1Error('MAC salt is longer than the limit');
    const iterations =
      iterNode === undefined ? 1 : reader.unsignedInteger(iterNode, 'MAC iterations');
    candidates = pkcs12PasswordVariants(password).map((pw) => {
      const key = pkcs12Kdf(hash, pw, salt, 3, iterations, hash.u);
      return createHmac(hash.node, key).update(authSafe).digest();
    });
  }
  const ok = candidates.some(
    (mac) => mac.length === expected.length && timingSafeEqual(mac, expected),
  );
  if (!ok)
    throw badPassword(
      'The PKCS#12 file could not be opened: the password is wrong, or the file is damaged (its integrity check failed).',
    );
}

/**
 * RFC 9579 PBMAC1: the MAC key is PBKDF2 (parameters in the algorithm, keyLength required) of
 * the UTF-8 password; MacData's own salt and iteration count are ignored.
 */
function pbmac1Candidates(
  reader: BerReader,
  params: Tlv | undefined,
  authSafe: Buffer,
  password: string,
): Buffer[] {
  const [kdf, scheme] = sequenceItems(reader, params, 'PBMAC1 parameters', 2);
  const pbkdf2 = parsePbkdf2(reader, kdf);
  if (pbkdf2.keyLength === undefined) throw new Asn1Error('PBMAC1: PBKDF2 key length missing');
  const [schemeOid] = sequenceItems(reader, scheme, 'PBMAC1 message authentication scheme', 1);
  const hmac = hmacPrf(reader.oid(schemeOid, 'PBMAC1 message authentication scheme'));
  const key = pbkdf2Sync(
    utf8Password(password),
    pbkdf2.salt,
    pbkdf2.iterations,
    pbkdf2.keyLength,
    pbkdf2.prf,
  );
  return [createHmac(hmac, key).update(authSafe).digest()];
}

// ── Sections and bags ───────────────────────────────────────────────────────────────────────

function readContentInfo(walk: Walk, reader: BerReader, info: Tlv): void {
  const [typeNode, contentNode] = sequenceItems(reader, info, 'ContentInfo', 1);
  const type = reader.oid(typeNode, 'ContentInfo type');
  if (type === OID.data) {
    if (contentNode === undefined) return;
    const octets = octetStringValue(
      reader,
      reader.explicit(contentNode, EXPLICIT_0, 'data'),
      'data',
    );
    readSafeContents(walk, octets, 0);
    return;
  }
  if (type === OID.encryptedData) {
    if (contentNode === undefined) throw new Asn1Error('encryptedData: missing content');
    readEncryptedData(walk, reader, reader.explicit(contentNode, EXPLICIT_0, 'encryptedData'));
    return;
  }
  if (type === OID.envelopedData) {
    walk.unreadable.push({
      what: 'a section',
      algorithm: 'public-key privacy mode (envelopedData)',
    });
    return;
  }
  throw new Asn1Error(`AuthenticatedSafe: unexpected content type ${type}`);
}

/**
 *   EncryptedData ::= SEQUENCE { version INTEGER, encryptedContentInfo EncryptedContentInfo, ... }
 *   EncryptedContentInfo ::= SEQUENCE { contentType OID, contentEncryptionAlgorithm
 *     AlgorithmIdentifier, encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
 */
function readEncryptedData(walk: Walk, reader: BerReader, node: Tlv): void {
  const [versionNode, eci] = sequenceItems(reader, node, 'EncryptedData', 2);
  reader.unsignedInteger(versionNode, 'EncryptedData version');
  const [typeNode, algNode, contentNode] = sequenceItems(reader, eci, 'EncryptedContentInfo', 2);
  reader.oid(typeNode, 'EncryptedContentInfo type');
  if (algNode === undefined) throw new Asn1Error('EncryptedContentInfo: missing algorithm');
  if (contentNode === undefined) return;
  // [0] IMPLICIT OCTET STRING, primitive or segmented.
  const ciphertext = asBuffer(
    reader.stringBytes(reader.expect(contentNode, contextTag(0), 'EncryptedContentInfo content')),
  );
  let scheme;
  try {
    scheme = parsePbeScheme(reader, algNode);
  } catch (error) {
    if (error instanceof UnsupportedAlgorithmError) {
      walk.unreadable.push({
        what: 'an encrypted section (where older tools put the certificates)',
        algorithm: error.algorithm,
      });
      return;
    }
    throw error;
  }
  let safeContents: Buffer;
  try {
    safeContents = decryptWithPassword(scheme, walk.password, ciphertext, (plain) => {
      // Must be one SafeContents SEQUENCE (valid padding alone is a 1-in-256 accident).
      const check = keyReader(plain);
      sequenceItems(check, check.root(), 'SafeContents');
      return plain;
    });
  } catch (error) {
    if (error instanceof DecryptError) throw sectionDecryptFailed(walk, scheme.name, error);
    throw error;
  }
  readSafeContents(walk, safeContents, 0);
}

function sectionDecryptFailed(walk: Walk, algorithm: string, cause: unknown): HispError {
  return badPassword(
    walk.macVerified
      ? `The PKCS#12 file's integrity check passed, but a section (${algorithm}) does not decrypt with the same password: it was exported with two passwords, or it is damaged.`
      : `The PKCS#12 file could not be decrypted (${algorithm}): the password is wrong, or the file is damaged.`,
    cause,
  );
}

function readSafeContents(walk: Walk, der: Uint8Array, depth: number): void {
  if (depth > KEY_LIMITS.safeContentsDepth)
    throw malformed(
      `The PKCS#12 file nests its contents more than ${KEY_LIMITS.safeContentsDepth} deep.`,
    );
  const reader = walk.reader.derive(der);
  for (const bag of sequenceItems(reader, reader.root(), 'SafeContents')) {
    walk.bags += 1;
    if (walk.bags > KEY_LIMITS.safeBags)
      throw malformed(`The PKCS#12 file holds more than ${KEY_LIMITS.safeBags} items.`);
    readSafeBag(walk, reader, bag, depth);
  }
}

function readSafeBag(walk: Walk, reader: BerReader, bag: Tlv, depth: number): void {
  const [idNode, valueNode, attrsNode] = sequenceItems(reader, bag, 'SafeBag', 2);
  const bagId = reader.oid(idNode, 'SafeBag type');
  if (valueNode === undefined) throw new Asn1Error('SafeBag: missing value');
  const value = reader.explicit(valueNode, EXPLICIT_0, 'SafeBag value');
  const attrs = readAttributes(reader, attrsNode);
  switch (bagId) {
    case OID.keyBag:
      addKey(walk, { pkcs8: Buffer.from(reader.raw(value)), ...attrs });
      return;
    case OID.pkcs8ShroudedKeyBag: {
      let decrypted: { der: Buffer; scheme: string };
      try {
        decrypted = decryptPrivateKeyInfo(reader, value, walk.password);
      } catch (error) {
        if (error instanceof UnsupportedAlgorithmError) {
          walk.unreadable.push({ what: 'the private key', algorithm: error.algorithm });
          return;
        }
        if (error instanceof DecryptError) throw sectionDecryptFailed(walk, 'private key', error);
        throw error;
      }
      walk.readableKeyAlgorithms.push(decrypted.scheme);
      addKey(walk, { pkcs8: decrypted.der, ...attrs });
      return;
    }
    case OID.certBag: {
      const [certIdNode, certValueNode] = sequenceItems(reader, value, 'CertBag', 2);
      if (reader.oid(certIdNode, 'CertBag type') !== OID.x509Certificate) return; // SDSI: not X.509
      if (certValueNode === undefined) throw new Asn1Error('CertBag: missing value');
      const der = octetStringValue(
        reader,
        reader.explicit(certValueNode, EXPLICIT_0, 'CertBag value'),
        'certificate',
      );
      if (walk.certs.length >= KEY_LIMITS.pkcs12Certificates)
        throw malformed(
          `The PKCS#12 file holds more than ${KEY_LIMITS.pkcs12Certificates} certificates.`,
        );
      walk.certs.push({ der: Buffer.from(der), ...attrs });
      return;
    }
    case OID.safeContentsBag:
      readSafeContents(walk, reader.raw(value), depth + 1);
      return;
    default:
      // crlBag, secretBag and unknown bag types carry nothing an identity needs.
      return;
  }
}

function addKey(walk: Walk, key: KeyBag): void {
  if (walk.keys.length >= KEY_LIMITS.pkcs12Keys)
    throw malformed(`The PKCS#12 file holds more than ${KEY_LIMITS.pkcs12Keys} private keys.`);
  walk.keys.push(key);
}

/** localKeyId and friendlyName from a SafeBag's attributes (others ignored). */
function readAttributes(reader: BerReader, node: Tlv | undefined): Bag {
  let localKeyId: Buffer | undefined;
  let friendlyName: string | undefined;
  if (node === undefined) return { localKeyId, friendlyName };
  if (!isUniversal(node, UniversalTag.SET))
    throw new Asn1Error('SafeBag attributes: expected a SET');
  const attrs = reader.childList(node, 'SafeBag attributes');
  if (attrs.length > KEY_LIMITS.bagAttributes)
    throw malformed(`A PKCS#12 item has more than ${KEY_LIMITS.bagAttributes} attributes.`);
  for (const attr of attrs) {
    const [oidNode, valuesNode] = sequenceItems(reader, attr, 'attribute', 2);
    const oid = reader.oid(oidNode, 'attribute type');
    if (valuesNode === undefined || !isUniversal(valuesNode, UniversalTag.SET))
      throw new Asn1Error('attribute: expected a SET of values');
    const [first] = reader.childList(valuesNode, 'attribute values');
    if (first === undefined) continue;
    if (oid === OID.localKeyId && isUniversal(first, UniversalTag.OCTET_STRING)) {
      localKeyId = Buffer.from(octetStringValue(reader, first, 'localKeyId'));
    } else if (
      oid === OID.friendlyName &&
      isUniversal(first, UniversalTag.BMPString) &&
      !first.constructed
    ) {
      friendlyName = Buffer.from(reader.content(first)).swap16().toString('utf16le');
    }
  }
  return { localKeyId, friendlyName };
}

// ── Choosing the identity ───────────────────────────────────────────────────────────────────

function choose(walk: Walk): Pkcs12Contents {
  if (walk.unreadable.length > 0) {
    const parts = walk.unreadable.map((u) => `${u.what} with ${u.algorithm}`);
    const keyNote =
      walk.keys.length > 0 && !walk.unreadable.some((u) => u.what === 'the private key')
        ? ` (the private key itself, protected with ${walk.readableKeyAlgorithms[0] ?? 'a supported cipher'}, was readable)`
        : '';
    throw new HispError(
      'PKCS12_UNSUPPORTED',
      `This PKCS#12 file protects ${parts.join(' and ')}${keyNote}: a legacy cipher that Sealpost — like OpenSSL 3 without its legacy provider — does not read.\n${conversionAdvice()}`,
    );
  }
  const [keyBag] = walk.keys;
  if (keyBag === undefined) throw malformed('The PKCS#12 file holds no private key.');
  if (walk.keys.length > 1)
    throw new HispError(
      'PKCS12_UNSUPPORTED',
      `The PKCS#12 file holds ${walk.keys.length} private keys; Sealpost imports one identity per file. Export each identity to its own file.`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyBag.pkcs8, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw malformed('The private key in the PKCS#12 file is damaged or of an unknown kind.', cause);
  }
  if (walk.certs.length === 0)
    throw malformed('The PKCS#12 file holds no certificate for its private key.');

  const parsed = walk.certs.map((bag, index) => {
    try {
      return { bag, cert: new X509Certificate(bag.der) };
    } catch (cause) {
      throw malformed(`Certificate ${index + 1} in the PKCS#12 file is damaged.`, cause);
    }
  });
  const sameId = (bag: CertBag): boolean =>
    keyBag.localKeyId !== undefined &&
    bag.localKeyId !== undefined &&
    keyBag.localKeyId.equals(bag.localKeyId);
  const ordered = [...parsed.filter((p) => sameId(p.bag)), ...parsed.filter((p) => !sameId(p.bag))];
  const leaf = ordered.find((p) => keyMatchesCertificate(key, p.cert));
  if (leaf === undefined)
    throw new HispError(
      'KEY_CERT_MISMATCH',
      'No certificate in the PKCS#12 file belongs to its private key.',
    );

  const chain: Buffer[] = [];
  for (const { bag } of parsed) {
    if (bag.der.equals(leaf.bag.der) || chain.some((c) => c.equals(bag.der))) continue;
    chain.push(bag.der);
  }
  const friendlyName = keyBag.friendlyName ?? leaf.bag.friendlyName;
  return {
    key,
    certDer: leaf.bag.der,
    chainDer: chain,
    ...(friendlyName === undefined ? {} : { friendlyName }),
  };
}
