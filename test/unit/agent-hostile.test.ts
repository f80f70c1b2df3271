/**
 * Whole messages, hostile or broken, through the inbound agent: every one ends in a typed
 * reason from the registry — never a crash, never a trusted result. Fixtures are the Direct
 * reference implementation's certificates (../shared/interop/java-ri), so no key generation.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type Reason } from '../../hisp/api/index.js';
import { decryptContent, encryptContent } from '../../hisp/agent/cms/enveloped.js';
import {
  decryptAndVerify,
  type InboundOptions,
  type InboundResult,
} from '../../hisp/agent/inbound.js';
import { AGENT_LIMITS } from '../../hisp/agent/limits.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { bytesOf, collect } from '../../hisp/agent/types.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { createSilentLogger } from '../../hisp/log/logger.js';

const ri = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop', 'java-ri');
const der = (name: string) => readFileSync(join(ri, name));
const key = (name: string) => createPrivateKey({ key: der(name), format: 'der', type: 'pkcs8' });

const greg = { certDer: der('gm2552.der'), chainDer: [], key: key('gm2552Key.der') };
const ryan = { certDer: der('ryan.der'), key: key('ryanKey.der') };
const anchors = [parseCertificate(der('secureHealthEmailCACert.der'))];
const at = new Date('2026-11-01T00:00:00Z');

const ORIGINAL = Buffer.from(
  'From: gm2552@securehealthemail.com\r\nTo: ryan@securehealthemail.com\r\nSubject: Discharge summary\r\n' +
    'Message-ID: <hostile-1@securehealthemail.com>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPatient stable at discharge.\r\n',
);

function options(overrides: Partial<InboundOptions> = {}): InboundOptions {
  return {
    keys: [ryan],
    anchors,
    at,
    revocation: 'off',
    allowSha1CertificateSignatures: true, // the reference implementation's CA signs with SHA-1
    logger: createSilentLogger(),
    ...overrides,
  };
}

function sealed(
  message: Buffer = ORIGINAL,
  cipher: 'aes256-cbc' | 'aes256-gcm' = 'aes256-cbc',
): Buffer {
  return collect(
    signAndEncrypt(message, greg, [ryan.certDer], {
      cipher,
      now: at,
      allowSha1CertificateSignatures: true,
    }).message,
  );
}

/** The outer headers and the CMS of a Direct message we made. */
function split(message: Buffer): { headers: string; cms: Buffer } {
  const text = message.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return { headers: text.slice(0, end + 4), cms: Buffer.from(text.slice(end + 4), 'base64') };
}

function join64(headers: string, cms: Buffer): Buffer {
  return Buffer.from(
    headers + (cms.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') + '\r\n',
    'latin1',
  );
}

/** Every outcome: untrusted, at least one reason, each reason a registry code with a message. */
function expectRefused(result: InboundResult): string[] {
  expect(result.trusted).toBe(false);
  expect(result.reasons.length).toBeGreaterThan(0);
  for (const reason of result.reasons as Reason[]) {
    expect(Object.hasOwn(ERROR_CODES, reason.code), reason.code).toBe(true);
    expect(reason.message.length).toBeGreaterThan(10);
  }
  // The fixtures' SHA-1 certificate signatures are accepted and reported (advisory): not a refusal.
  return result.reasons.map((r) => r.code).filter((code) => code !== 'CERT_SHA1_SIGNATURE');
}

describe('the sound message these cases start from', () => {
  it('is decrypted, verified and trusted', async () => {
    const result = await decryptAndVerify(sealed(), options());
    expect(result.trusted).toBe(true);
    expect(result.inner?.equals(ORIGINAL)).toBe(true);
  });
});

describe('risk-16: hostile or damaged messages get typed reasons, never a crash', () => {
  it('tampered ciphertext (CBC): the damage is caught by padding or by the signature', async () => {
    const { headers, cms } = split(sealed());
    for (const offset of [cms.length - 40, cms.length - 1000, Math.floor(cms.length / 2)]) {
      const damaged = Buffer.from(cms);
      damaged[offset] = (damaged[offset] ?? 0) ^ 0x01;
      const codes = expectRefused(await decryptAndVerify(join64(headers, damaged), options()));
      expect(
        codes.some((c) =>
          ['DECRYPT_FAILED', 'SIGNATURE_INVALID', 'MIME_MALFORMED', 'CMS_MALFORMED'].includes(c),
        ),
      ).toBe(true);
    }
  });

  it('tampered ciphertext (GCM): the tag fails, nothing is decrypted', async () => {
    const { headers, cms } = split(sealed(ORIGINAL, 'aes256-gcm'));
    const damaged = Buffer.from(cms);
    const last = damaged.length - 30;
    damaged[last] = (damaged[last] ?? 0) ^ 0x80;
    const result = await decryptAndVerify(join64(headers, damaged), options());
    expect(expectRefused(result)).toEqual(['DECRYPT_FAILED']);
    expect(result.decrypted).toBe(false);
    expect(result.inner).toBeUndefined();
  });

  it('tampered signed content, re-encrypted by an attacker: SIGNATURE_INVALID', async () => {
    const { headers, cms } = split(sealed());
    const signed = decryptContent(cms, [ryan]).content;
    const forged = Buffer.from(
      signed.toString('latin1').replace('Patient stable', 'Patient unwell'),
      'latin1',
    );
    expect(forged.equals(signed)).toBe(false);
    const reencrypted = collect(
      encryptContent(bytesOf(forged), [ryan.certDer], {
        cipher: 'aes256-cbc',
        keyTransport: 'oaep-sha256',
      }),
    );
    const result = await decryptAndVerify(join64(headers, reencrypted), options());
    expect(result.decrypted).toBe(true);
    expect(result.signatureValid).toBe(false);
    expect(expectRefused(result)).toContain('SIGNATURE_INVALID');
  });

  it('a key that is not a recipient: NO_MATCHING_RECIPIENT; our certificate with the wrong key: DECRYPT_FAILED', async () => {
    const message = sealed();
    const stranger = { certDer: der('cernerdemos.der'), key: key('cernerdemosKey.der') };
    expect(expectRefused(await decryptAndVerify(message, options({ keys: [stranger] })))).toEqual([
      'NO_MATCHING_RECIPIENT',
    ]);
    const wrongKey = { certDer: ryan.certDer, key: key('altNameOnlyKey.der') };
    expect(expectRefused(await decryptAndVerify(message, options({ keys: [wrongKey] })))).toEqual([
      'DECRYPT_FAILED',
    ]);
  });

  it('an inner From that cannot be parsed: reasons, not an exception', async () => {
    const { headers, cms } = split(sealed());
    const signed = decryptContent(cms, [ryan]).content;
    const forged = Buffer.from(
      signed.toString('latin1').replace('From: gm2552@securehealthemail.com', 'From: <<<@@@>>>'),
      'latin1',
    );
    const reencrypted = collect(
      encryptContent(bytesOf(forged), [ryan.certDer], {
        cipher: 'aes256-cbc',
        keyTransport: 'oaep-sha256',
      }),
    );
    const codes = expectRefused(await decryptAndVerify(join64(headers, reencrypted), options()));
    expect(codes).toContain('SIGNATURE_INVALID');
    expect(codes).toContain('MIME_MALFORMED');
  });

  it('truncated CMS at many points', async () => {
    const { headers, cms } = split(sealed());
    for (const length of [
      0,
      1,
      2,
      10,
      100,
      400,
      Math.floor(cms.length / 2),
      cms.length - 17,
      cms.length - 1,
    ]) {
      const codes = expectRefused(
        await decryptAndVerify(join64(headers, cms.subarray(0, length)), options()),
      );
      expect(
        codes.every((c) =>
          ['CMS_MALFORMED', 'DECRYPT_FAILED', 'MIME_MALFORMED', 'LIMIT_EXCEEDED'].includes(c),
        ),
        `${length}: ${codes.join()}`,
      ).toBe(true);
    }
  });

  it('garbage base64 body', async () => {
    const { headers } = split(sealed());
    const codes = expectRefused(
      await decryptAndVerify(Buffer.from(`${headers}!!!! not base64 at all ****\r\n`), options()),
    );
    expect(codes).toEqual(['MIME_MALFORMED']);
  });

  it('absurd ASN.1 lengths', async () => {
    const { headers } = split(sealed());
    for (const bytes of [
      [0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06],
      [0x30, 0x89, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [0x30, 0x80, 0x30, 0x80, 0x30, 0x80],
    ]) {
      const codes = expectRefused(
        await decryptAndVerify(join64(headers, Buffer.from(bytes)), options()),
      );
      expect(
        codes.every((c) => ['CMS_MALFORMED', 'LIMIT_EXCEEDED'].includes(c)),
        codes.join(),
      ).toBe(true);
    }
  });

  it('deep MIME nesting', async () => {
    let body = 'x';
    for (let i = 0; i < 2000; i++)
      body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--\r\n`;
    const started = performance.now();
    const codes = expectRefused(
      await decryptAndVerify(
        Buffer.from(`From: a@b.test\r\nMIME-Version: 1.0\r\n${body}`),
        options(),
      ),
    );
    expect(codes).toEqual(['LIMIT_EXCEEDED']);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a message over the size limit is refused before any work', async () => {
    const huge = Buffer.alloc(AGENT_LIMITS.messageBytes + 1, 0x41);
    expect(expectRefused(await decryptAndVerify(huge, options()))).toEqual(['LIMIT_EXCEEDED']);
  });

  it('an encrypted message whose content is not signed: NOT_SIGNED', async () => {
    const { headers } = split(sealed());
    const unsigned = collect(
      encryptContent(bytesOf(ORIGINAL), [ryan.certDer], {
        cipher: 'aes256-cbc',
        keyTransport: 'oaep-sha256',
      }),
    );
    const result = await decryptAndVerify(join64(headers, unsigned), options());
    expect(result.decrypted).toBe(true);
    expect(expectRefused(result)).toEqual(['NOT_SIGNED']);
  });
});

describe('risk-8: mail that is not S/MIME protected is never accepted', () => {
  it('a plain message', async () => {
    expect(expectRefused(await decryptAndVerify(ORIGINAL, options()))).toEqual(['NOT_SMIME']);
  });

  it('a signed but unencrypted message', async () => {
    const { cms } = split(sealed());
    const signed = decryptContent(cms, [ryan]).content;
    const message = Buffer.concat([
      Buffer.from(
        'From: gm2552@securehealthemail.com\r\nTo: ryan@securehealthemail.com\r\nMIME-Version: 1.0\r\n',
      ),
      signed,
    ]);
    expect(expectRefused(await decryptAndVerify(message, options()))).toEqual(['NOT_SMIME']);
  });
});

describe('routing tamper check (envelope against the protected headers)', () => {
  it('an envelope recipient not in To/Cc, or an envelope sender not the From, is ROUTING_MISMATCH', async () => {
    const message = sealed();
    const ok = await decryptAndVerify(
      message,
      options({
        envelope: {
          mailFrom: 'GM2552@SecureHealthEmail.com',
          rcptTo: ['ryan@securehealthemail.com'],
        },
      }),
    );
    expect(ok.trusted).toBe(true);
    const rcpt = await decryptAndVerify(
      message,
      options({ envelope: { rcptTo: ['eve@elsewhere.test'] } }),
    );
    expect(expectRefused(rcpt)).toEqual(['ROUTING_MISMATCH']);
    const from = await decryptAndVerify(
      message,
      options({ envelope: { mailFrom: 'eve@elsewhere.test' } }),
    );
    expect(expectRefused(from)).toEqual(['ROUTING_MISMATCH']);
  });

  it('an outer From rewritten in transit is ROUTING_MISMATCH', async () => {
    const { headers, cms } = split(sealed());
    const rewritten = headers.replace(
      'From: gm2552@securehealthemail.com',
      'From: eve@elsewhere.test',
    );
    expect(rewritten).not.toBe(headers);
    expect(expectRefused(await decryptAndVerify(join64(rewritten, cms), options()))).toEqual([
      'ROUTING_MISMATCH',
    ]);
  });
});

describe('outbound refuses what Direct policy refuses', () => {
  it('an expired recipient certificate is not encrypted to', () => {
    expect(() =>
      signAndEncrypt(ORIGINAL, greg, [der('expired.der')], {
        now: at,
        allowSha1CertificateSignatures: true,
      }),
    ).toThrow(expect.objectContaining({ code: 'CERT_EXPIRED' }) as Error);
  });

  it('a From the identity does not bind is not signed', () => {
    const other = Buffer.from(ORIGINAL.toString().replace('From: gm2552@', 'From: someone-else@'));
    expect(() =>
      signAndEncrypt(other, greg, [ryan.certDer], {
        now: at,
        allowSha1CertificateSignatures: true,
      }),
    ).toThrow(expect.objectContaining({ code: 'IDENTITY_MISMATCH' }) as Error);
  });

  it('a SHA-1-signed identity is refused unless SHA-1 certificates are allowed', () => {
    expect(() => signAndEncrypt(ORIGINAL, greg, [ryan.certDer], { now: at })).toThrow(
      expect.objectContaining({ code: 'CERT_WEAK_SIGNATURE' }) as Error,
    );
  });
});
