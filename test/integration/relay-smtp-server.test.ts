/**
 * The HISP's SMTP listeners against real SMTP clients (nodemailer, and a raw socket for what
 * a well-behaved client would never send): the inbound endpoint other HISPs deliver to, and
 * the optional local submission endpoint.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { createSilentLogger } from '../../hisp/log/logger.js';
import {
  startInboundSmtp,
  startSubmission,
  type RunningSmtp,
  type SmtpDecision,
  type SmtpEnvelope,
} from '../../hisp/relay/smtpServer.js';
import { createSelfSignedServerCert, type CertFiles } from '../services/certs.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

let tmp: TempDir;
let tls: CertFiles;
let inbound: RunningSmtp;
let submission: RunningSmtp;
const received: { raw: Buffer; envelope: SmtpEnvelope }[] = [];
const submitted: { raw: Buffer; envelope: SmtpEnvelope; user: string }[] = [];
let decision: SmtpDecision = { accepted: true };

const SMIME = Buffer.from(
  'From: a@practice-a.test\r\nTo: b@practice-b.test\r\nSubject: x\r\n' +
    'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n' +
    'Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAxggE=\r\n',
);
const PLAIN = Buffer.from(
  'From: a@practice-a.test\r\nTo: b@practice-b.test\r\nSubject: plaintext\r\n\r\nA clear-text body.\r\n',
);

beforeAll(async () => {
  tmp = await makeTempDir('smtp-server');
  tls = await createSelfSignedServerCert(tmp.path);
  const common = {
    host: '127.0.0.1',
    port: 0,
    tls: { key: tls.keyPem, cert: tls.certPem },
    maxBytes: 64 * 1024,
    logger: createSilentLogger(),
  };
  inbound = await startInboundSmtp({
    ...common,
    localDomains: ['practice-b.test'],
    accept: (raw, envelope) => {
      received.push({ raw, envelope });
      return Promise.resolve(decision);
    },
  });
  submission = await startSubmission({
    ...common,
    authenticate: (user, password) =>
      Promise.resolve(user === 'dr.a' && password === 'right password'),
    submit: (raw, envelope, user) => {
      submitted.push({ raw, envelope, user });
      return Promise.resolve({ accepted: true });
    },
  });
});

afterAll(async () => {
  await Promise.all([inbound?.close(), submission?.close()]);
  await tmp?.remove();
});

function client(port: number, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { ca: [tls.certPem] },
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 5000,
    ...extra,
  });
}

async function send(
  port: number,
  raw: Buffer,
  envelope: { from: string; to: string[] },
  extra: Record<string, unknown> = {},
): Promise<{ ok: true } | { ok: false; code: number | undefined; message: string }> {
  const transport = client(port, extra);
  try {
    await transport.sendMail({ envelope, raw });
    return { ok: true };
  } catch (error) {
    const failure = error as { responseCode?: number; message: string };
    return { ok: false, code: failure.responseCode, message: failure.message };
  } finally {
    transport.close();
  }
}

/** A plaintext SMTP dialogue on a raw socket: the server's reply to each line. */
async function plaintextDialogue(port: number, lines: string[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  const replies: string[] = [];
  let buffer = '';
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = /^(\d{3}) .*\r\n/m.exec(buffer);
        if (match) {
          const end = buffer.indexOf(match[0]) + match[0].length;
          const reply = buffer.slice(0, end);
          buffer = buffer.slice(end);
          socket.off('data', onData);
          resolve(reply);
        }
      };
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString('latin1');
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  try {
    await next(); // greeting
    for (const line of lines) {
      socket.write(`${line}\r\n`);
      replies.push(await next());
    }
  } finally {
    socket.destroy();
  }
  return replies;
}

describe('inbound SMTP', () => {
  it('takes an S/MIME message over STARTTLS for a local domain and hands it over with its envelope', async () => {
    received.length = 0;
    decision = { accepted: true };
    const result = await send(inbound.port, SMIME, {
      from: 'a@practice-a.test',
      to: ['b@practice-b.test'],
    });
    expect(result).toEqual({ ok: true });
    expect(received).toHaveLength(1);
    expect(received[0]?.envelope).toEqual({ from: 'a@practice-a.test', to: ['b@practice-b.test'] });
    expect(received[0]?.raw.toString('latin1')).toContain('MIAGCSqGSIb3DQEHA6CAMIACAQAxggE=');
  });

  it('risk-8: a message that is not S/MIME gets a 5xx and never reaches the HISP', async () => {
    received.length = 0;
    const result = await send(inbound.port, PLAIN, {
      from: 'a@practice-a.test',
      to: ['b@practice-b.test'],
    });
    expect(result).toMatchObject({ ok: false, code: 554 });
    expect(received).toEqual([]);
  });

  it('a message that fails trust is refused with the reason the HISP gives', async () => {
    decision = {
      accepted: false,
      code: 550,
      message: '5.7.1 The signer is not trusted: CERT_UNTRUSTED',
    };
    const result = await send(inbound.port, SMIME, {
      from: 'a@practice-a.test',
      to: ['b@practice-b.test'],
    });
    decision = { accepted: true };
    expect(result).toMatchObject({ ok: false, code: 550 });
    expect(result.ok === false && result.message).toContain('CERT_UNTRUSTED');
  });

  it('no relaying: a recipient outside the local domains is refused', async () => {
    const result = await send(inbound.port, SMIME, {
      from: 'a@practice-a.test',
      to: ['x@elsewhere.test'],
    });
    expect(result).toMatchObject({ ok: false, code: 550 });
  });

  it('risk-3: plaintext is refused — MAIL FROM before STARTTLS gets 530', async () => {
    const replies = await plaintextDialogue(inbound.port, [
      'EHLO tester',
      'MAIL FROM:<a@practice-a.test>',
    ]);
    expect(replies[0]).toMatch(/^250[- ]/m);
    expect(replies[0]).toContain('STARTTLS');
    expect(replies[1]).toMatch(/^530 5\.7\.0 Must issue a STARTTLS command first/);
  });

  it('a message over the size limit is refused (552)', async () => {
    const big = Buffer.concat([SMIME, Buffer.alloc(70 * 1024, 0x41)]);
    const result = await send(inbound.port, big, {
      from: 'a@practice-a.test',
      to: ['b@practice-b.test'],
    });
    expect(result).toMatchObject({ ok: false, code: 552 });
  });
});

describe('local submission endpoint', () => {
  it('risk-20: listens on loopback only', async () => {
    await expect(
      startSubmission({
        host: '0.0.0.0',
        port: 0,
        tls: { key: tls.keyPem, cert: tls.certPem },
        maxBytes: 1024,
        logger: createSilentLogger(),
        authenticate: () => Promise.resolve(true),
        submit: () => Promise.resolve({ accepted: true }),
      }),
    ).rejects.toMatchObject({ code: 'NOT_LOOPBACK' });
  });

  it('risk-7: refuses plaintext — AUTH and MAIL before STARTTLS are refused', async () => {
    const replies = await plaintextDialogue(submission.port, [
      'EHLO tester',
      'AUTH PLAIN AGRyLmEAcmlnaHQgcGFzc3dvcmQ=',
      'MAIL FROM:<dr.a@practice-a.test>',
    ]);
    expect(replies[1]).toMatch(/^5\d\d /);
    expect(replies[2]).toMatch(/^530 /);
    expect(submitted).toEqual([]);
  });

  it('risk-17: refuses without AUTH (over TLS), and with a wrong password', async () => {
    const noAuth = await send(submission.port, PLAIN, {
      from: 'dr.a@practice-a.test',
      to: ['b@practice-b.test'],
    });
    expect(noAuth).toMatchObject({ ok: false, code: 530 });
    const wrong = await send(
      submission.port,
      PLAIN,
      { from: 'dr.a@practice-a.test', to: ['b@practice-b.test'] },
      { auth: { user: 'dr.a', pass: 'wrong' } },
    );
    expect(wrong).toMatchObject({ ok: false, code: 535 });
    expect(submitted).toEqual([]);
  });

  it('over STARTTLS with AUTH, the message is handed to the send path with its user', async () => {
    const result = await send(
      submission.port,
      PLAIN,
      { from: 'dr.a@practice-a.test', to: ['b@practice-b.test'] },
      { auth: { user: 'dr.a', pass: 'right password' } },
    );
    expect(result).toEqual({ ok: true });
    expect(submitted.map((entry) => [entry.user, entry.envelope.to])).toEqual([
      ['dr.a', ['b@practice-b.test']],
    ]);
  });
});
