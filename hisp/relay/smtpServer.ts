/**
 * SMTP listeners of the HISP (smtp-server):
 *
 * - **Inbound** (server mode, or a LAN): other HISPs deliver Direct messages here. STARTTLS
 *   is required before MAIL FROM; recipients only at the practice's own domains; a size
 *   limit; a message that is not S/MIME is refused with a 5xx before it is stored (risk-8);
 *   the HISP's `accept` decides the rest (decrypt, verify, trust) and its refusal reason is
 *   the SMTP reply.
 * - **Submission** (off by default): a local mail client sends through the HISP. Loopback
 *   only (risk-20), STARTTLS (risk-7) and AUTH (risk-17) required; what it submits is handed
 *   to the HISP's send path, which signs and encrypts it — nothing goes out in plaintext
 *   (risk-15).
 */
import { isLoopbackHost } from '../host/loopback.js';
import { domainOf } from '../agent/mime/address.js';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { HispError } from '../api/errors.js';
import type { Logger } from '../log/logger.js';

export interface SmtpTls {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

export interface SmtpEnvelope {
  readonly from: string;
  readonly to: readonly string[];
}

/** What the HISP says about a message: taken, or refused with an SMTP reply. */
export type SmtpDecision =
  | { readonly accepted: true }
  | { readonly accepted: false; readonly code: number; readonly message: string };

export interface RunningSmtp {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

interface CommonOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  readonly tls: SmtpTls;
  /** Largest message accepted, in bytes. */
  readonly maxBytes: number;
  readonly logger: Logger;
  /** The name in the greeting. */
  readonly name?: string;
}

export interface InboundSmtpOptions extends CommonOptions {
  /** The practice's Direct domains; mail for any other is refused (no relaying). */
  readonly localDomains: readonly string[];
  readonly accept: (raw: Buffer, envelope: SmtpEnvelope) => Promise<SmtpDecision>;
}

export interface SubmissionOptions extends CommonOptions {
  readonly authenticate: (user: string, password: string) => Promise<boolean>;
  readonly submit: (raw: Buffer, envelope: SmtpEnvelope, user: string) => Promise<SmtpDecision>;
}

function smtpError(code: number, message: string): Error {
  const error = new Error(message) as Error & { responseCode: number };
  error.responseCode = code;
  return error;
}

/**
 * What the SMTP client is told when a message could not be taken: the refusal decided on, or
 * a temporary failure it retries later — 452 when the disk holding the mailbox is full
 * (RFC 5321 "insufficient system storage", RFC 3463 4.3.1 "mail system full"), else 451.
 */
function refusalOf(error: unknown): Error {
  if (error instanceof Error && 'responseCode' in error) return error;
  if (error instanceof HispError && error.code === 'STORE_FULL')
    return smtpError(
      452,
      '4.3.1 Insufficient system storage: the mailbox is full; try again later.',
    );
  return smtpError(451, '4.3.0 The message could not be taken now; try again later.');
}

/**
 * Is this an S/MIME Direct message (an enveloped-data body, or the signed form that some
 * systems send)? Read from the top-level Content-Type only: the full check is the agent's.
 */
export function looksLikeSmime(raw: Buffer): boolean {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw
    .subarray(0, end < 0 ? Math.min(raw.length, 64 * 1024) : end)
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ');
  const type = /^content-type:\s*([^;\r\n]+)/im.exec(head)?.[1]?.trim().toLowerCase();
  return type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime';
}

async function readLimited(stream: SMTPServerDataStream, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size <= maxBytes) chunks.push(buffer);
  }
  if (stream.sizeExceeded === true || size > maxBytes) {
    throw smtpError(552, `5.3.4 The message is larger than ${maxBytes} bytes.`);
  }
  return Buffer.concat(chunks, size);
}

function envelopeOf(session: SMTPServerSession): SmtpEnvelope {
  const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
  return { from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address) };
}

async function listen(server: SMTPServer, options: CommonOptions): Promise<RunningSmtp> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new HispError('ADDRESS_IN_USE', `${options.host}:${options.port} is already in use.`, {
              cause: error,
            })
          : error,
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error: Error) => {
    options.logger.warn('smtp connection error', { reason: error.message });
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    host: options.host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TLS_FIRST =
  '5.7.0 Must issue a STARTTLS command first: Direct mail is never taken in plaintext.';

/** The inbound listener other HISPs deliver to. */
export function startInboundSmtp(options: InboundSmtpOptions): Promise<RunningSmtp> {
  const local = new Set(options.localDomains.map((domain) => domain.toLowerCase()));
  const logger = options.logger.child({ component: 'smtp.inbound' });
  const server = new SMTPServer({
    name: options.name ?? 'sealpost',
    banner: 'Sealpost HISP (Direct)',
    key: options.tls.key,
    cert: options.tls.cert,
    secure: false,
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: options.maxBytes,
    maxClients: 64,
    socketTimeout: 60_000,
    logger: false,
    onMailFrom(_address, session, callback) {
      callback(session.secure ? null : smtpError(530, TLS_FIRST));
    },
    onRcptTo(address, session, callback) {
      if (!session.secure) return callback(smtpError(530, TLS_FIRST));
      if (!local.has(domainOf(address.address))) {
        return callback(smtpError(550, '5.7.1 Relaying denied: not a domain of this HISP.'));
      }
      callback();
    },
    onData(stream, session, callback) {
      void (async () => {
        const raw = await readLimited(stream, options.maxBytes);
        if (!looksLikeSmime(raw)) {
          // risk-8: plaintext never enters a Direct mailbox.
          throw smtpError(
            554,
            '5.7.1 Not a Direct message: only S/MIME encrypted mail is accepted.',
          );
        }
        const decision = await options.accept(raw, envelopeOf(session));
        if (!decision.accepted) throw smtpError(decision.code, decision.message);
        logger.info('message accepted', {
          bytes: raw.length,
          recipients: session.envelope.rcptTo.length,
        });
      })().then(
        () => callback(),
        (error: unknown) => {
          const refusal = refusalOf(error);
          logger.info('message refused', {
            code: (refusal as Error & { responseCode: number }).responseCode,
            reason: refusal.message,
          });
          callback(refusal);
        },
      );
    },
  });
  return listen(server, options);
}

/** The local submission endpoint for another mail client (off unless configured). */
export function startSubmission(options: SubmissionOptions): Promise<RunningSmtp> {
  if (!isLoopbackHost(options.host)) {
    // risk-20: the submission endpoint is for this computer only.
    return Promise.reject(
      new HispError(
        'NOT_LOOPBACK',
        `The submission endpoint listens on this computer only (127.0.0.1 or ::1), not ${options.host}.`,
      ),
    );
  }
  const logger = options.logger.child({ component: 'smtp.submission' });
  const server = new SMTPServer({
    name: options.name ?? 'sealpost',
    banner: 'Sealpost submission',
    key: options.tls.key,
    cert: options.tls.cert,
    secure: false,
    authOptional: false,
    allowInsecureAuth: false,
    authMethods: ['PLAIN', 'LOGIN'],
    size: options.maxBytes,
    maxClients: 16,
    socketTimeout: 60_000,
    logger: false,
    onAuth(auth, session, callback) {
      if (!session.secure) return callback(smtpError(538, TLS_FIRST));
      options.authenticate(auth.username ?? '', auth.password ?? '').then(
        (ok) =>
          ok
            ? callback(null, { user: auth.username })
            : callback(smtpError(535, '5.7.8 Authentication failed.')),
        () => callback(smtpError(454, '4.7.0 Authentication is not available now.')),
      );
    },
    onMailFrom(_address, session, callback) {
      if (!session.secure) return callback(smtpError(530, TLS_FIRST));
      callback(
        session.user === undefined ? smtpError(530, '5.7.0 Authentication required.') : null,
      );
    },
    onData(stream, session, callback) {
      void (async () => {
        const raw = await readLimited(stream, options.maxBytes);
        const decision = await options.submit(raw, envelopeOf(session), String(session.user));
        if (!decision.accepted) throw smtpError(decision.code, decision.message);
        logger.info('message submitted', { bytes: raw.length });
      })().then(
        () => callback(),
        (error: unknown) => callback(refusalOf(error)),
      );
    },
  });
  return listen(server, options);
}
