/**
 * Messages made by other Direct implementations (../shared/interop), handled as its README
 * says: bytes Sealpost did not write.
 */
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptAndVerify, type InboundOptions } from '../../hisp/agent/inbound.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { run } from '../services/proc.js';

const interop = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop');
const file = (...parts: string[]) => readFileSync(join(interop, ...parts));
const codes = (reasons: readonly { code: string }[]) => reasons.map((r) => r.code).sort();

const ryan = {
  certDer: file('java-ri', 'ryan.der'),
  key: createPrivateKey({ key: file('java-ri', 'ryanKey.der'), format: 'der', type: 'pkcs8' }),
};
const simpleInterop = parseCertificate(file('java-ri', 'secureHealthEmailCACert.der'));
const cernerRoot = parseCertificate(file('java-ri', 'cacert.der'));

function options(overrides: Partial<InboundOptions> = {}): InboundOptions {
  return {
    keys: [ryan],
    anchors: [simpleInterop],
    revocation: 'soft',
    logger: createSilentLogger(),
    at: new Date('2026-11-01T00:00:00Z'),
    ...overrides,
  };
}

describe('Java reference implementation: EncryptedMessage2.txt', () => {
  // The reference implementation's test CA signs its certificates with SHA-1. Sealpost refuses
  // SHA-1 certificate signatures unless a HISP opts in for such legacy trust domains.
  it('decrypts, verifies and is trusted under the SimpleInterop anchor (SHA-1 certificates allowed)', async () => {
    const result = await decryptAndVerify(
      file('java-ri', 'EncryptedMessage2.txt'),
      options({ allowSha1CertificateSignatures: true }),
    );
    expect(result).toMatchObject({
      decrypted: true,
      signatureValid: true,
      trusted: true,
      cipher: 'aes128-cbc',
      keyTransport: 'pkcs1',
      digest: 'sha256',
      wrapped: true,
      signer: { address: 'gm2552@securehealthemail.com' },
    });
    // Reported, not hidden: the accepted SHA-1 signature, and no CRL to check (soft-fail).
    expect([...new Set(codes(result.reasons))]).toEqual([
      'CERT_SHA1_SIGNATURE',
      'REVOCATION_UNKNOWN',
    ]);
    expect(result.anchor?.fingerprintSha256).toBe(simpleInterop.fingerprintSha256);
    const inner = result.inner?.toString('latin1') ?? '';
    expect(inner).toMatch(/^Subject: test pic\r?$/m);
    expect(inner).toMatch(/Content-Type: text\/plain/i);
    expect(inner).toMatch(/Content-Type: image\/png/i);
  });

  it('is not trusted by default, because its certificates are signed with SHA-1', async () => {
    const result = await decryptAndVerify(file('java-ri', 'EncryptedMessage2.txt'), options());
    expect(result.decrypted).toBe(true);
    expect(result.signatureValid).toBe(true);
    expect(result.trusted).toBe(false);
    expect(codes(result.reasons)).toContain('CERT_WEAK_SIGNATURE');
    expect(codes(result.reasons)).not.toContain('CERT_UNTRUSTED');
  });

  it('is untrusted under a different root (cacert.der), and says why', async () => {
    const result = await decryptAndVerify(
      file('java-ri', 'EncryptedMessage2.txt'),
      options({ anchors: [cernerRoot] }),
    );
    expect(result.decrypted).toBe(true);
    expect(result.signatureValid).toBe(true);
    expect(result.trusted).toBe(false);
    expect(codes(result.reasons)).toContain('CERT_UNTRUSTED');
  });

  it('risk-9: trusts nothing when no anchor is configured', async () => {
    const result = await decryptAndVerify(
      file('java-ri', 'EncryptedMessage2.txt'),
      options({ anchors: [] }),
    );
    expect(result.trusted).toBe(false);
    expect(codes(result.reasons)).toContain('CERT_UNTRUSTED');
  });
});

describe('Java reference implementation: samples encrypted to keys that no longer exist', () => {
  it.each(['EncryptedMessage.txt', 'EncryptedMessage3.txt'])(
    '%s gives a clean typed "cannot decrypt"',
    async (name) => {
      const result = await decryptAndVerify(file('java-ri', name), options());
      expect(result.decrypted).toBe(false);
      expect(result.trusted).toBe(false);
      expect(result.inner).toBeUndefined();
      expect(result.reasons).toHaveLength(1);
      expect(['NO_MATCHING_RECIPIENT', 'DECRYPT_FAILED']).toContain(result.reasons[0]?.code);
    },
  );
});

describe('ONC Edge Testing Tool: TestGeneratedMessage.txt', () => {
  it('decrypts, and is rejected as untrusted with each reason reported', async () => {
    // The key is in a legacy (RC2) PKCS#12 with an empty password; OpenSSL is used here only
    // as tooling to read it (the importer's own handling of this file is tested elsewhere).
    const pem = await run('openssl', [
      'pkcs12',
      '-legacy',
      '-in',
      join(interop, 'ett', 'testCert.p12'),
      '-passin',
      'pass:',
      '-nodes',
    ]);
    const text = pem.stdout;
    const keyPem =
      /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(text)?.[0] ?? '';
    const certPem =
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0] ?? '';
    const cert = parseCertificate(
      Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
    );
    const result = await decryptAndVerify(
      file('ett', 'TestGeneratedMessage.txt'),
      options({ keys: [{ certDer: cert.der, key: createPrivateKey(keyPem) }], anchors: [cert] }),
    );
    expect(result.decrypted).toBe(true);
    expect(result.cipher).toBe('aes128-cbc');
    expect(result.trusted).toBe(false);
    expect(result.inner).toBeDefined();
    const found = codes(result.reasons);
    for (const code of ['WEAK_DIGEST', 'WEAK_KEY', 'CERT_EXPIRED', 'CERT_WEAK_SIGNATURE']) {
      expect(found, `${code} in ${found.join(', ')}`).toContain(code);
    }
  });
});
