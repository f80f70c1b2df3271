/**
 * Large messages are decoded and decrypted in place when the caller hands the buffer over
 * (the command line does): same results as the copying path, and refusals stay typed.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HispError } from '../../hisp/api/errors.js';
import { decryptAndVerify, type InboundOptions } from '../../hisp/agent/inbound.js';
import { decodeBase64Strict } from '../../hisp/agent/mime/decode.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { createSilentLogger } from '../../hisp/log/logger.js';

const ri = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop', 'java-ri');
const der = (name: string) => readFileSync(join(ri, name));
const key = (name: string) => createPrivateKey({ key: der(name), format: 'der', type: 'pkcs8' });
const at = new Date('2026-11-01T00:00:00Z');

function lines(data: Buffer): Buffer {
  return Buffer.from((data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n'), 'latin1');
}

describe('decodeBase64Strict in place', () => {
  it.each([0, 1, 2, 3, 57, 1000, 200_000, 1_000_001])(
    'gives the same bytes as the copying decoder (%i bytes)',
    (size) => {
      const raw = randomBytes(size);
      const text = lines(raw);
      expect(decodeBase64Strict(Buffer.from(text)).equals(raw)).toBe(true);
      const consumed = Buffer.from(text);
      const decoded = decodeBase64Strict(consumed, true);
      expect(decoded.equals(raw)).toBe(true);
      expect(decoded.buffer).toBe(consumed.buffer); // no new buffer
    },
  );

  it('risk-16: refuses a bad character or misplaced padding with a typed error', () => {
    const text = lines(randomBytes(300_000));
    for (const [offset, byte] of [
      [150_000, 0x2a],
      [299_000, 0x3d],
      [10, 0x00],
    ] as const) {
      const bad = Buffer.from(text);
      bad[offset] = byte;
      expect(() => decodeBase64Strict(bad, true)).toThrow(HispError);
      expect(() => decodeBase64Strict(Buffer.from(bad), false)).toThrow(
        expect.objectContaining({ code: 'MIME_MALFORMED' }) as Error,
      );
    }
  });
});

describe('decryptAndVerify with consumeInput', () => {
  it('gives the same result as the copying path, for a 3 MB message', async () => {
    const greg = { certDer: der('gm2552.der'), chainDer: [], key: key('gm2552Key.der') };
    const ryan = { certDer: der('ryan.der'), key: key('ryanKey.der') };
    const original = Buffer.from(
      'From: gm2552@securehealthemail.com\r\nTo: ryan@securehealthemail.com\r\nSubject: Imaging\r\nMIME-Version: 1.0\r\n' +
        `Content-Type: text/plain\r\n\r\n${'Radiology report text, line after line. 0123456789\r\n'.repeat(60_000)}`,
    );
    const wire = collect(
      signAndEncrypt(original, greg, [ryan.certDer], {
        now: at,
        allowSha1CertificateSignatures: true,
      }).message,
    );
    const options: InboundOptions = {
      keys: [ryan],
      anchors: [parseCertificate(der('secureHealthEmailCACert.der'))],
      at,
      revocation: 'off',
      allowSha1CertificateSignatures: true,
      logger: createSilentLogger(),
    };
    const copying = await decryptAndVerify(Buffer.from(wire), options);
    const consuming = await decryptAndVerify(Buffer.from(wire), { ...options, consumeInput: true });
    expect(copying.trusted).toBe(true);
    expect(consuming.trusted).toBe(true);
    expect(consuming.reasons).toEqual(copying.reasons);
    expect(consuming.inner?.equals(original)).toBe(true);
  });
});
