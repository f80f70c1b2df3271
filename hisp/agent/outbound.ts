/**
 * Outbound security agent (DESIGN.md §4): wrap the whole message as message/rfc822 (header
 * protection), sign it as a detached multipart/signed, and encrypt that to every recipient
 * certificate and to the sender's own. The result is a Direct message whose outer headers
 * carry routing information only.
 *
 * Large messages flow as ByteSources: the message is held once, the signature pass streams
 * over it, and the encryption pass streams cipher output into base64 lines as the output is
 * written.
 */
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { HispError } from '../api/errors.js';
import { parseCertificate } from '../certs/certificate.js';
import { addressBinding, checkDirectCertificate } from '../certs/policy.js';
import { encryptContent } from './cms/enveloped.js';
import { signDetached } from './cms/signed.js';
import { AGENT_LIMITS } from './limits.js';
import {
  base64Lines,
  foldHeader,
  headerValue,
  parseAddressList,
  parseMime,
  toCrlf,
} from './mime/index.js';
import {
  OUTBOUND_DEFAULTS,
  bytesOf,
  concatSources,
  type ByteSource,
  type ContentCipher,
  type KeyTransport,
  type SigningDigest,
} from './types.js';

export interface SenderIdentity {
  readonly certDer: Uint8Array;
  readonly chainDer: readonly Uint8Array[];
  readonly key: KeyObject;
}

export interface OutboundOptions {
  readonly cipher?: ContentCipher;
  readonly keyTransport?: KeyTransport;
  readonly digest?: SigningDigest;
  readonly now?: Date;
  /** Sign with an identity whose certificate is SHA-1-signed (legacy trust domains). */
  readonly allowSha1CertificateSignatures?: boolean;
}

export interface OutboundMessage {
  /** The Direct message (RFC 5322), produced as it is read: iterate once. */
  readonly message: ByteSource;
  readonly from: string;
  readonly messageId: string;
  readonly cipher: ContentCipher;
  readonly keyTransport: KeyTransport;
  readonly digest: SigningDigest;
}

/** Headers copied to the outer (encrypted) message: routing only, never the Subject. */
const OUTER_HEADERS = [
  'from',
  'sender',
  'to',
  'cc',
  'date',
  'message-id',
  'reply-to',
  'in-reply-to',
  'references',
];

const MICALG: Record<SigningDigest, string> = {
  sha256: 'sha-256',
  sha384: 'sha-384',
  sha512: 'sha-512',
};

export function signAndEncrypt(
  message: Buffer,
  identity: SenderIdentity,
  recipientCertsDer: readonly Uint8Array[],
  options: OutboundOptions = {},
): OutboundMessage {
  const cipher = options.cipher ?? OUTBOUND_DEFAULTS.cipher;
  const keyTransport = options.keyTransport ?? OUTBOUND_DEFAULTS.keyTransport;
  const digest = options.digest ?? OUTBOUND_DEFAULTS.digest;
  const now = options.now ?? new Date();
  if (message.byteLength > AGENT_LIMITS.messageBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The message is larger than ${AGENT_LIMITS.messageBytes} bytes.`,
    );
  }
  if (recipientCertsDer.length === 0)
    throw new HispError('BAD_REQUEST', 'There is no recipient certificate.');

  // Sign exactly the CRLF bytes that are sent.
  const inner = toCrlf(message);
  const parsed = parseMime(inner);
  const fromHeader = headerValue(parsed, 'from');
  const fromList = fromHeader === undefined ? [] : parseAddressList(fromHeader);
  const from = fromList[0]?.address;
  if (from === undefined || fromList.length !== 1) {
    throw new HispError('MIME_MALFORMED', 'The message needs exactly one From address.');
  }

  const signerCert = parseCertificate(identity.certDer);
  if (addressBinding(signerCert, from) === undefined) {
    throw new HispError(
      'IDENTITY_MISMATCH',
      `The signing certificate (${signerCert.subject}) does not belong to ${from} or its domain.`,
    );
  }
  const problems = checkDirectCertificate(signerCert, {
    address: from,
    usage: 'sign',
    at: now,
    allowSha1Signatures: options.allowSha1CertificateSignatures === true,
  });
  const [problem] = problems.filter((p) => p.code !== 'CERT_SHA1_SIGNATURE');
  if (problem !== undefined) throw new HispError(problem.code, problem.message);

  // Never encrypt to a certificate Direct policy refuses (expired, weak, wrong key usage):
  // a recipient certificate is chosen by discovery or by the user, and either can be wrong.
  for (const certDer of recipientCertsDer) {
    const recipient = parseCertificate(certDer);
    const [refusal] = checkDirectCertificate(recipient, {
      usage: 'encrypt',
      at: now,
      allowSha1Signatures: options.allowSha1CertificateSignatures === true,
    }).filter((p) => p.code !== 'CERT_SHA1_SIGNATURE');
    if (refusal !== undefined) throw new HispError(refusal.code, refusal.message);
  }

  let messageId = headerValue(parsed, 'message-id')?.trim();
  const extraOuter: string[] = [];
  if (messageId === undefined || messageId === '') {
    messageId = `<${randomBytes(16).toString('hex')}@${from.split('@')[1] ?? 'sealpost.invalid'}>`;
    extraOuter.push(foldHeader('Message-ID', messageId));
  }

  // 1. Header protection: the whole message as message/rfc822.
  const wrapped = concatSources(
    bytesOf(
      `Content-Type: message/rfc822\r\n${has8bit(inner) ? 'Content-Transfer-Encoding: 8bit\r\n' : ''}\r\n`,
    ),
    bytesOf(inner),
  );

  // 2. Detached signature over the wrapped entity's exact bytes.
  const signature = signDetached(
    wrapped,
    { certDer: identity.certDer, chainDer: identity.chainDer, key: identity.key },
    {
      digest,
      signingTime: now,
    },
  );
  const boundary = uniqueBoundary(inner);
  const signed = concatSources(
    bytesOf(
      `Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=${MICALG[digest]};\r\n` +
        ` boundary="${boundary}"\r\n\r\n` +
        'This is a cryptographically signed message in MIME format.\r\n\r\n' +
        `--${boundary}\r\n`,
    ),
    wrapped,
    bytesOf(
      `\r\n--${boundary}\r\n` +
        'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n' +
        'Content-Transfer-Encoding: base64\r\n' +
        'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n',
    ),
    base64Lines(bytesOf(signature)),
    bytesOf(`\r\n--${boundary}--\r\n`),
  );

  // 3. Encrypt to every recipient and to the sender, so the Sent copy stays readable.
  const enveloped = encryptContent(signed, [...recipientCertsDer, identity.certDer], {
    cipher,
    keyTransport,
  });

  const outer: string[] = [];
  for (const { name, value } of parsed.headers) {
    if (OUTER_HEADERS.includes(name.toLowerCase())) outer.push(`${name}: ${value}`);
  }
  outer.push(...extraOuter);
  outer.push(
    'MIME-Version: 1.0',
    'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="smime.p7m"',
  );
  const outerHeaders = outer.map((line) => refold(line)).join('');
  const wire = concatSources(
    bytesOf(`${outerHeaders}\r\n`),
    base64Lines(enveloped),
    bytesOf('\r\n'),
  );
  if (wire.length > AGENT_LIMITS.messageBytes) {
    throw new HispError(
      'LIMIT_EXCEEDED',
      `The encrypted message would be ${wire.length} bytes, more than the ${AGENT_LIMITS.messageBytes} Direct peers accept. Send large attachments in separate messages.`,
    );
  }
  return {
    message: wire,
    from,
    messageId,
    cipher,
    keyTransport,
    digest,
  };
}

/** A header line as `Name: value`, folded for the wire and ending in CRLF. */
function refold(line: string): string {
  const colon = line.indexOf(':');
  return foldHeader(line.slice(0, colon), line.slice(colon + 1).trim());
}

/** A boundary that does not occur in the content (RFC 2046 §5.1.1). */
function uniqueBoundary(content: Buffer): string {
  for (;;) {
    const boundary = `----=_Sealpost_${randomBytes(18).toString('base64url')}`;
    if (content.indexOf(boundary) === -1) return boundary;
  }
}

function has8bit(content: Buffer): boolean {
  return !isAscii(content);
}
