/**
 * `sealpost smime encrypt|decrypt`: the security agent on files and pipes (DESIGN.md §8).
 * Tests, IT scripts and support use it, so its flags, report and exit codes are a contract.
 */
import { HispError, type Reason } from '../api/errors.js';
import type { InboundResult } from '../agent/inbound.js';
import { AGENT_LIMITS } from '../agent/limits.js';
import { signAndEncrypt, type SenderIdentity } from '../agent/outbound.js';
import {
  CONTENT_CIPHERS,
  KEY_TRANSPORTS,
  SIGNING_DIGESTS,
  type ByteSource,
} from '../agent/types.js';
import { readCertificates } from '../certs/certificate.js';
import {
  assertKeyMatchesCertificate,
  readCertificateDers,
  readPkcs12,
  readPrivateKey,
} from '../keys/material.js';
import { parseCommandArgs } from './args.js';
import { readInputFile, readSecret, writeOutputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';

export const SMIME_HELP = `Usage: sealpost smime encrypt|decrypt [options]

  sealpost smime encrypt  (--p12 FILE [--pass SPEC] | --cert FILE --key FILE [--pass SPEC])
                          --to CERT [--to CERT ...]
                          [--cipher aes256-cbc|aes128-cbc|aes256-gcm|aes128-gcm]
                          [--key-transport oaep-sha256|oaep-sha1|pkcs1]
                          [--digest sha256|sha384|sha512] [--allow-sha1-certificates]
                          [--in FILE] [--out FILE]
  sealpost smime decrypt  (--p12 FILE [--pass SPEC] | --cert FILE --key FILE [--pass SPEC])
                          --anchor CERT [--anchor CERT ...] [--crl FILE ...]
                          [--revocation soft|hard|off] [--offline] [--allow-untrusted]
                          [--allow-sha1-certificates]
                          [--in FILE] [--out FILE] [--report FILE]

encrypt reads a whole RFC 5322 message (stdin by default), wraps it as message/rfc822,
signs it with the identity (which must bind the message's From address) and encrypts it
to every --to certificate and to the signer; it writes the Direct message (stdout by
default). Defaults: aes256-cbc, oaep-sha256, sha256.

decrypt writes the inner message only when it decrypted, the signature is valid, the
signer binds the inner From and the chain reaches an --anchor under policy;
--allow-untrusted writes it anyway. --report writes JSON: {decrypted, signatureValid,
trusted, signer: {address, subject, fingerprintSha256}, cipher, keyTransport, digest,
reasons: [{code, message}]}. Unless --offline, intermediates are fetched from AIA, and
revocation is asked of the OCSP responder (AIA) or read from CRL distribution points over
HTTP; --crl files are used first. --revocation (default soft): what an
unknown revocation status does — soft reports it, hard fails trust, off skips checks.
--allow-sha1-certificates accepts certificates signed with SHA-1 (legacy trust domains
such as the Direct reference implementation's test CA), reported as CERT_SHA1_SIGNATURE;
MD5-signed certificates and SHA-1 message signatures are always refused.

Certificates and keys are PEM or DER, auto-detected. A secret is never a bare value:
--pass env:NAME or --pass file:PATH (empty if omitted).

Exit codes: 0 done (decrypt: trusted); 1 usage, an input that cannot be read or an
output file that cannot be written (--out and --report are written whole or not at all,
owner-only); 2 refused by policy
(encrypt: the identity does not bind From, or is not valid); 3 cannot decrypt;
4 decrypted but the signature or trust failed.
`;

const MAX_FILE = AGENT_LIMITS.messageBytes;

/** Codes that mean an input (file, key, certificate, message) could not be read. */
const UNREADABLE = new Set([
  'CERT_MALFORMED',
  'KEY_MALFORMED',
  'KEY_CERT_MISMATCH',
  'PKCS12_BAD_PASSWORD',
  'PKCS12_UNSUPPORTED',
  'PKCS12_MALFORMED',
  'LIMIT_EXCEEDED',
]);

export async function smimeCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'encrypt') return run(io, () => encrypt(rest, io));
  if (sub === 'decrypt') return run(io, () => decrypt(rest, io));
  throw new UsageError(
    'smime',
    sub === undefined
      ? 'say encrypt or decrypt'
      : `unknown subcommand ${JSON.stringify(sub)}: say encrypt or decrypt`,
  );
}

async function run(io: CliIo, action: () => Promise<number>): Promise<number> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const hispError = HispError.from(error);
    if (hispError.code === 'INTERNAL') throw error;
    io.stderr(`sealpost smime: ${hispError.message} [${hispError.code}]\n`);
    return UNREADABLE.has(hispError.code) || hispError.code === 'MIME_MALFORMED' ? 1 : 2;
  }
}

const IDENTITY_OPTIONS = {
  p12: { type: 'string' },
  pass: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  in: { type: 'string' },
  out: { type: 'string' },
} as const;

interface IdentityFlags {
  readonly p12?: string | undefined;
  readonly pass?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
}

async function loadIdentity(
  command: string,
  flags: IdentityFlags,
  io: CliIo,
): Promise<SenderIdentity> {
  const password = await readSecret(command, flags.pass, io.env);
  if (flags.p12 !== undefined) {
    if (flags.cert !== undefined || flags.key !== undefined) {
      throw new UsageError(command, 'give either --p12 or --cert with --key, not both');
    }
    const contents = readPkcs12(
      await readInputFile(command, '--p12', flags.p12, MAX_FILE),
      password,
    );
    return { certDer: contents.certDer, chainDer: contents.chainDer, key: contents.key };
  }
  if (flags.cert === undefined || flags.key === undefined) {
    throw new UsageError(
      command,
      'an identity is required: --p12 FILE, or --cert FILE with --key FILE',
    );
  }
  const [certDer, ...chainDer] = readCertificateDers(
    await readInputFile(command, '--cert', flags.cert, MAX_FILE),
  );
  if (certDer === undefined)
    throw new HispError('CERT_MALFORMED', `--cert ${flags.cert} holds no certificate.`);
  const key = readPrivateKey(
    await readInputFile(command, '--key', flags.key, MAX_FILE),
    password || undefined,
  );
  assertKeyMatchesCertificate(key, certDer);
  return { certDer, chainDer, key };
}

function oneOf<T extends string>(
  command: string,
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    command,
    `${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`,
  );
}

async function readMessage(command: string, path: string | undefined, io: CliIo): Promise<Buffer> {
  return path === undefined
    ? io.readStdin(MAX_FILE)
    : readInputFile(command, '--in', path, MAX_FILE);
}

async function writeOutput(
  command: string,
  source: ByteSource | Buffer,
  path: string | undefined,
  io: CliIo,
): Promise<void> {
  if (path === undefined) {
    if (Buffer.isBuffer(source)) await io.writeStdout(source);
    else for (const chunk of source.chunks()) await io.writeStdout(chunk);
    return;
  }
  // Owner-only: decrypt output is patient data the user chose to write out. Written chunk by
  // chunk as the cipher produces it, so a large message is never held twice; whole or not
  // at all.
  writeOutputFile(command, '--out', path, Buffer.isBuffer(source) ? [source] : source.chunks());
}

async function encrypt(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'smime encrypt';
  const { values } = parseCommandArgs(command, args, {
    ...IDENTITY_OPTIONS,
    to: { type: 'string', multiple: true },
    cipher: { type: 'string' },
    'key-transport': { type: 'string' },
    digest: { type: 'string' },
    'allow-sha1-certificates': { type: 'boolean' },
  });
  const cipher = oneOf(command, '--cipher', values.cipher, CONTENT_CIPHERS);
  const keyTransport = oneOf(command, '--key-transport', values['key-transport'], KEY_TRANSPORTS);
  const digest = oneOf(command, '--digest', values.digest, SIGNING_DIGESTS);
  if (values.to === undefined || values.to.length === 0)
    throw new UsageError(command, 'at least one --to CERT is required');
  const identity = await loadIdentity(command, values, io);
  const recipients: Buffer[] = [];
  for (const path of values.to) {
    recipients.push(
      ...readCertificates(await readInputFile(command, '--to', path, MAX_FILE)).map((c) => c.der),
    );
  }
  const message = await readMessage(command, values.in, io);
  const outbound = signAndEncrypt(message, identity, recipients, {
    ...(cipher ? { cipher } : {}),
    ...(keyTransport ? { keyTransport } : {}),
    ...(digest ? { digest } : {}),
    allowSha1CertificateSignatures: values['allow-sha1-certificates'] === true,
  });
  await writeOutput(command, outbound.message, values.out, io);
  return 0;
}

export interface DecryptReport {
  readonly decrypted: boolean;
  readonly signatureValid: boolean;
  readonly trusted: boolean;
  readonly signer: {
    readonly address: string | null;
    readonly subject: string;
    readonly fingerprintSha256: string;
  } | null;
  readonly cipher: string | null;
  readonly keyTransport: string | null;
  readonly digest: string | null;
  readonly reasons: readonly Reason[];
}

export function reportOf(result: InboundResult): DecryptReport {
  return {
    decrypted: result.decrypted,
    signatureValid: result.signatureValid,
    trusted: result.trusted,
    signer: result.signer
      ? {
          address: result.signer.address ?? null,
          subject: result.signer.subject,
          fingerprintSha256: result.signer.fingerprintSha256,
        }
      : null,
    cipher: result.cipher ?? null,
    keyTransport: result.keyTransport ?? null,
    digest: result.digest ?? null,
    reasons: result.reasons,
  };
}

async function decrypt(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'smime decrypt';
  const { values } = parseCommandArgs(command, args, {
    ...IDENTITY_OPTIONS,
    anchor: { type: 'string', multiple: true },
    crl: { type: 'string', multiple: true },
    revocation: { type: 'string' },
    offline: { type: 'boolean' },
    'allow-sha1-certificates': { type: 'boolean' },
    'allow-untrusted': { type: 'boolean' },
    report: { type: 'string' },
  });
  const revocation =
    oneOf(command, '--revocation', values.revocation, ['soft', 'hard', 'off'] as const) ?? 'soft';
  const anchorPaths = values.anchor ?? [];
  if (anchorPaths.length === 0 && !values['allow-untrusted']) {
    throw new UsageError(command, 'at least one --anchor CERT is required (or --allow-untrusted)');
  }
  const identity = await loadIdentity(command, values, io);
  const anchors = [];
  for (const path of anchorPaths)
    anchors.push(...readCertificates(await readInputFile(command, '--anchor', path, MAX_FILE)));
  const crls: Buffer[] = [];
  for (const path of values.crl ?? [])
    crls.push(await readInputFile(command, '--crl', path, AGENT_LIMITS.crlBytes));
  const message = await readMessage(command, values.in, io);

  // Loaded here, not at the top: encrypt (a pipeline's hot path) never pays for the inbound
  // agent, path validation, revocation or the network code (node:net, node:dns).
  const [
    { decryptAndVerify },
    { createHttpFetcher },
    { CrlCache, readCrl },
    { OcspCache },
    { createLogger },
  ] = await Promise.all([
    import('../agent/inbound.js'),
    import('../certs/fetch.js'),
    import('../certs/crl.js'),
    import('../certs/ocsp.js'),
    import('../log/logger.js'),
  ]);
  // A --crl that is not a CRL is refused here, not quietly turned into "revocation unknown".
  (values.crl ?? []).forEach((path, index) => {
    try {
      readCrl(crls[index] ?? Buffer.alloc(0));
    } catch (error) {
      const problem = HispError.from(error);
      throw new HispError(problem.code, `--crl ${path}: ${problem.message}`);
    }
  });
  const logger = createLogger({
    level: 'error',
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-smime' },
  });
  const result = await decryptAndVerify(message, {
    keys: [{ certDer: identity.certDer, key: identity.key }],
    anchors,
    revocation,
    logger,
    crls,
    allowSha1CertificateSignatures: values['allow-sha1-certificates'] === true,
    consumeInput: true, // the message was read for this call only
    ...(values.offline
      ? {}
      : {
          fetcher: createHttpFetcher({ logger }),
          crlCache: new CrlCache(),
          ocspCache: new OcspCache(),
        }),
  });

  if (values.report !== undefined) {
    writeOutputFile(command, '--report', values.report, [
      Buffer.from(`${JSON.stringify(reportOf(result), null, 2)}\n`),
    ]);
  }
  for (const r of result.reasons) io.stderr(`sealpost smime decrypt: ${r.message} [${r.code}]\n`);
  if (result.inner !== undefined && (result.trusted || values['allow-untrusted'])) {
    await writeOutput(command, result.inner, values.out, io);
  }
  if (!result.decrypted) return 3;
  return result.trusted ? 0 : 4;
}
