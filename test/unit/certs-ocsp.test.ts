/**
 * OCSP (RFC 6960): the request checked against OpenSSL's own (`openssl ocsp -reqout`, byte for
 * byte, and `-reqin … -req_text`), responses made by OpenSSL's responder (`openssl ocsp
 * -index … -respout`) checked for good / revoked / unknown, signer authorization, CertID,
 * nonce and dates, hostile responses (risk-16), the cache, and Fetcher.post.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import { createHttpFetcher } from '../../hisp/certs/fetch.js';
import {
  OCSP_CONTENT_TYPE,
  OCSP_LIMITS,
  OcspCache,
  buildOcspRequest,
  checkOcspResponse,
  delegatedResponder,
  ocspGetUrl,
  ocspResponseStatus,
  type OcspAnswer,
} from '../../hisp/certs/ocsp.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { run } from '../services/proc.js';
import {
  DAY,
  TestPki,
  caExtensions,
  leafExtensions,
  openssl,
  opensslOcspRespond,
  startFileServer,
  type Issued,
} from './certs-fixtures.js';

let pki: TestPki;
let root: Issued;
let otherRoot: Issued;
let good: Issued;
let revoked: Issued;
let notInIndex: Issued;
let responder: Issued;
let noEku: Issued;
let rogue: Issued;

beforeAll(async () => {
  pki = await TestPki.create('certs-ocsp');
  await Promise.all(['root', 'other', 'ee', 'resp'].map((k) => pki.key(k)));
  root = await pki.root('root', { subject: '/O=Sealpost Tests/CN=OCSP Root', key: 'root' });
  otherRoot = await pki.root('other', { subject: '/O=Other/CN=Other Root', key: 'other' });
  const leaf = (name: string) =>
    pki.issue(root, name, {
      subject: `/O=Sealpost Tests/CN=${name}`,
      key: 'ee',
      extensions: leafExtensions({ email: `${name}@example.test` }),
    });
  good = await leaf('good');
  revoked = await leaf('revoked');
  const responderExtensions = (eku: boolean) => [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    ...(eku ? ['extendedKeyUsage=OCSPSigning'] : []),
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ];
  responder = await pki.issue(root, 'responder', {
    subject: '/O=Sealpost Tests/CN=OCSP Responder',
    key: 'resp',
    extensions: responderExtensions(true),
  });
  noEku = await pki.issue(root, 'no-eku', {
    subject: '/O=Sealpost Tests/CN=Not A Responder',
    key: 'resp',
    extensions: responderExtensions(false),
  });
  rogue = await pki.issue(otherRoot, 'rogue', {
    subject: '/O=Sealpost Tests/CN=OCSP Root',
    key: 'resp',
    extensions: responderExtensions(true),
  });
  await pki.revoke(root, revoked, 'keyCompromise');
  // Not in the root's database: issued by another CA.
  notInIndex = await pki.issue(otherRoot, 'stranger', {
    subject: '/O=Sealpost Tests/CN=stranger',
    key: 'ee',
    extensions: caExtensions({ ca: false }),
  });
}, 60_000);

afterAll(async () => {
  await pki.remove();
});

async function respond(
  cert: Issued,
  signer: Issued,
  options: { nonce?: boolean } = {},
): Promise<{ body: Buffer; nonce: Buffer | undefined }> {
  const request = buildOcspRequest(cert.cert, root.cert, { nonce: options.nonce ?? true });
  const body = await opensslOcspRespond(pki, { ca: root, signer }, request.der);
  return { body, nonce: request.nonce };
}

function check(body: Uint8Array, cert: Issued, at = new Date(), nonce?: Buffer): OcspAnswer {
  return checkOcspResponse(body, cert.cert, root.cert, at, { nonce, source: 'test' });
}

describe('OCSP request', () => {
  it('is byte for byte the request `openssl ocsp -issuer -cert -no_nonce -reqout` makes', async () => {
    const out = join(pki.dir, 'openssl-req.der');
    await run(openssl(), [
      'ocsp',
      '-issuer',
      root.certPath,
      '-cert',
      good.certPath,
      '-no_nonce',
      '-reqout',
      out,
    ]);
    const ours = buildOcspRequest(good.cert, root.cert, { nonce: false });
    expect(ours.der.toString('hex')).toBe((await readFile(out)).toString('hex'));
    expect(ours.nonce).toBeUndefined();
  });

  it('reads back in `openssl ocsp -reqin -req_text` with SHA-1 hashes, serial and nonce', async () => {
    const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const ours = buildOcspRequest(revoked.cert, root.cert, { nonce });
    const path = join(pki.dir, 'our-req.der');
    await writeFile(path, ours.der);
    const { stdout } = await run(openssl(), ['ocsp', '-reqin', path, '-req_text']);
    const upper = (b: Buffer) => b.toString('hex').toUpperCase();
    expect(stdout).toContain('Hash Algorithm: sha1');
    expect(stdout).toContain(`Issuer Name Hash: ${upper(ours.certId.issuerNameHash)}`);
    expect(stdout).toContain(`Issuer Key Hash: ${upper(ours.certId.issuerKeyHash)}`);
    expect(stdout.toUpperCase()).toContain(
      `SERIAL NUMBER: ${revoked.cert.serialHex.toUpperCase()}`,
    );
    expect(stdout).toContain('OCSP Nonce:');
    expect(stdout.replace(/\s/g, '').toUpperCase()).toContain(`0410${upper(nonce)}`);
  });
});

describe('OCSP response from OpenSSL', () => {
  it('good, signed by the issuer', async () => {
    const { body, nonce } = await respond(good, root);
    const answer = check(body, good, new Date(), nonce);
    expect(answer.status).toBe('good');
    expect(answer.signer).toBe('the issuer');
    expect(answer.nextUpdate?.getTime()).toBeGreaterThan(Date.now());
    expect(answer.responderCertificate).toBeUndefined();
    expect(delegatedResponder(answer)).toBeUndefined();
  });

  it('revoked, with its time and reason, signed by a delegated responder', async () => {
    const { body, nonce } = await respond(revoked, responder);
    const answer = check(body, revoked, new Date(), nonce);
    expect(answer.status).toBe('revoked');
    expect(answer.revocationReason).toBe(1);
    expect(answer.revocationTime?.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    expect(answer.signer).toContain('OCSP Responder');
    // The answer names the responder certificate, for its own revocation check.
    expect(delegatedResponder(answer)?.fingerprintSha256).toBe(responder.cert.fingerprintSha256);
    expect(delegatedResponder(answer)?.ocspNoCheck).toBe(false);
  });

  it('a serial the responder does not know is unknown', async () => {
    const request = buildOcspRequest(notInIndex.cert, root.cert, { nonce: false });
    const body = await opensslOcspRespond(pki, { ca: root, signer: root }, request.der);
    // Asked with our root as issuer: the responder knows no such serial.
    const answer = checkOcspResponse(body, notInIndex.cert, root.cert, new Date(), {
      source: 'test',
    });
    expect(answer.status).toBe('unknown');
  });

  it('a responder certificate without id-kp-OCSPSigning is not authorized', async () => {
    const { body } = await respond(good, noEku);
    const answer = check(body, good);
    expect(answer.status).toBe('unknown');
    expect(answer.detail).toMatch(/OCSPSigning/);
  });

  it('a responder certificate from another CA (same issuer name) is not authorized', async () => {
    const { body } = await respond(revoked, rogue);
    const answer = check(body, revoked);
    expect(answer.status).toBe('unknown');
    expect(answer.detail).toMatch(/not accepted/);
  });

  it('an answer for another certificate does not answer for this one', async () => {
    const { body } = await respond(good, root);
    const answer = check(body, revoked);
    expect(answer.status).toBe('unknown');
    expect(answer.detail).toMatch(/no answer for this certificate/);
  });

  it('a nonce that differs from the one sent is refused', async () => {
    const { body } = await respond(good, root);
    const answer = check(body, good, new Date(), Buffer.alloc(16, 7));
    expect(answer.status).toBe('unknown');
    expect(answer.detail).toMatch(/nonce/);
  });

  it('past its nextUpdate is stale; a thisUpdate in the future is refused', async () => {
    const { body } = await respond(good, root);
    expect(check(body, good, new Date(Date.now() + 2 * DAY)).detail).toMatch(/stale/);
    const early = check(body, good, new Date(Date.now() - OCSP_LIMITS.clockSkewMs - 60_000));
    expect(early.status).toBe('unknown');
    expect(early.detail).toMatch(/future/);
    // Within the skew it is accepted.
    expect(check(body, good, new Date(Date.now() - 60_000)).status).toBe('good');
  });
});

describe('risk-16: hostile OCSP responses are unknown, never a crash', () => {
  const hostile: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'not ASN.1': Buffer.from('<html>hello</html>'),
    'a huge length': Buffer.from('3089ffffffffffffffff00', 'hex'),
    'an indefinite length that never ends': Buffer.from('3080308030803080', 'hex'),
    'deep nesting': Buffer.concat([
      Buffer.from(Array.from({ length: 200 }, () => [0x30, 0x80]).flat()),
      Buffer.alloc(400),
    ]),
    tryLater: Buffer.from('30030a0103', 'hex'),
    'successful without responseBytes': Buffer.from('30030a0100', 'hex'),
    'another response type': Buffer.from(
      '3012' + '0a0100' + 'a00d300b0603550403' + '0404deadbeef',
      'hex',
    ),
    'larger than the limit': Buffer.alloc(OCSP_LIMITS.responseBytes + 1, 0x30),
  };
  for (const [name, body] of Object.entries(hostile)) {
    it(`risk-16: ${name}`, () => {
      const answer = check(body, good);
      expect(answer.status).toBe('unknown');
      expect(answer.detail).toMatch(/^the OCSP response from test /);
    });
  }

  it('risk-16: every truncation of a real response is unknown', async () => {
    const { body } = await respond(good, responder, { nonce: false });
    expect(check(body, good).status).toBe('good');
    for (let length = 0; length < body.byteLength; length++) {
      expect(check(body.subarray(0, length), good).status).toBe('unknown');
    }
  });

  it('risk-16: single-byte changes inside the signed data never give good', async () => {
    const { body } = await respond(revoked, root, { nonce: false });
    expect(check(body, revoked).status).toBe('revoked');
    // The signed ResponseData sits in the middle: flip bytes across the whole response.
    for (let i = 0; i < body.byteLength; i += 3) {
      const changed = Buffer.from(body);
      changed[i] = (changed[i] ?? 0) ^ 0x01;
      const answer = check(changed, revoked);
      expect(answer.status).not.toBe('good');
    }
  });
});

describe('OCSP GET URLs (RFC 6960 A.1, RFC 5019 §5)', () => {
  it('appends the URL-encoded base64 after one slash', () => {
    const der = Buffer.from([0xfb, 0xff, 0xfe, 0x30]); // base64 "+//+MA==": every escaped char
    expect(Buffer.from(der).toString('base64')).toBe('+//+MA==');
    expect(ocspGetUrl('http://ocsp.example.test', der)).toBe(
      'http://ocsp.example.test/%2B%2F%2F%2BMA%3D%3D',
    );
    expect(ocspGetUrl('http://ocsp.example.test/', der)).toBe(
      'http://ocsp.example.test/%2B%2F%2F%2BMA%3D%3D',
    );
    expect(ocspGetUrl('http://ocsp.example.test/ca1', der)).toBe(
      'http://ocsp.example.test/ca1/%2B%2F%2F%2BMA%3D%3D',
    );
  });

  it('a real request without a nonce fits; base64 of 255 characters or more does not', () => {
    const request = buildOcspRequest(good.cert, root.cert, { nonce: false });
    const url = ocspGetUrl('http://ocsp.example.test/', request.der);
    expect(url).toBeDefined();
    expect(Buffer.from(decodeURIComponent(url?.split('/').pop() ?? ''), 'base64')).toEqual(
      request.der,
    );
    expect(ocspGetUrl('http://o.test/', Buffer.alloc(189))).toBeDefined(); // 252 characters
    expect(ocspGetUrl('http://o.test/', Buffer.alloc(191))).toBeUndefined(); // 256 characters
  });

  it('a URL with a query or fragment, or no URL at all, is left to POST', () => {
    expect(ocspGetUrl('http://o.test/ocsp?tenant=1', Buffer.of(0x30, 0))).toBeUndefined();
    expect(ocspGetUrl('http://o.test/ocsp#x', Buffer.of(0x30, 0))).toBeUndefined();
    expect(ocspGetUrl('not a url', Buffer.of(0x30, 0))).toBeUndefined();
  });

  it('ocspResponseStatus tells an OCSP refusal from something else', async () => {
    const { body } = await respond(good, root);
    expect(ocspResponseStatus(body)).toBe(0);
    expect(ocspResponseStatus(Buffer.from('30030a0101', 'hex'))).toBe(1);
    expect(ocspResponseStatus(Buffer.from('30030a0103', 'hex'))).toBe(3);
    expect(ocspResponseStatus(Buffer.from('<html>nope</html>'))).toBeUndefined();
    expect(ocspResponseStatus(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('OcspCache', () => {
  it('keeps a definite answer until its nextUpdate, and failures for a short time', () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const cache = new OcspCache({ now: () => now, failureTtlMs: 60_000 });
    const answer: OcspAnswer = {
      status: 'good',
      detail: 'test',
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 3_600_000),
    };
    cache.set(good.cert, root.cert, answer);
    cache.set(revoked.cert, root.cert, { status: 'unknown', detail: 'not kept' });
    expect(cache.get(good.cert, root.cert)).toBe(answer);
    expect(cache.get(revoked.cert, root.cert)).toBeUndefined();
    cache.setFailure('http://ocsp.test/', 'down');
    now = new Date(now.getTime() + 61_000);
    expect(cache.failure('http://ocsp.test/')).toBeUndefined();
    expect(cache.get(good.cert, root.cert)).toBe(answer);
    now = new Date(now.getTime() + 3_600_000);
    expect(cache.get(good.cert, root.cert)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});

describe('OcspCache backing', () => {
  it('an answer from a delegated responder keeps its responder certificate across restarts', async () => {
    const stored = new Map<string, { value: Buffer; expires: number }>();
    const backing = {
      get: (key: string) => stored.get(key),
      set: (key: string, value: Uint8Array, expires: number) => {
        stored.set(key, { value: Buffer.from(value), expires });
      },
    };
    const { body, nonce } = await respond(good, responder);
    const answer = check(body, good, new Date(), nonce);
    expect(answer.status).toBe('good');
    new OcspCache({ backing }).set(good.cert, root.cert, answer);
    const revived = new OcspCache({ backing }).get(good.cert, root.cert);
    expect(revived?.responderCertificate).toBe(responder.der.toString('base64'));
    expect(revived === undefined ? undefined : delegatedResponder(revived)?.subject).toBe(
      responder.cert.subject,
    );
  });
});

describe('Fetcher.post', () => {
  it('POSTs the body with its content type and reads the bounded answer', async () => {
    const server = await startFileServer();
    try {
      let seen: { type?: string | undefined; body?: string; method?: string | undefined } = {};
      server.set('/ocsp', (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', () => {
          seen = {
            type: request.headers['content-type'],
            body: Buffer.concat(chunks).toString('hex'),
            method: request.method,
          };
          response.writeHead(200).end(Buffer.from('3003', 'hex'));
        });
      });
      server.set('/see-other', {
        body: '',
        status: 303,
        headers: { location: '/ocsp' },
      });
      server.set('/big', { body: Buffer.alloc(100) });
      const fetcher = createHttpFetcher({ logger: createSilentLogger(), timeoutMs: 2000 });
      const post = fetcher.post?.bind(fetcher);
      if (post === undefined) throw new Error('the HTTP fetcher has no post');
      const body = await post(server.url('/ocsp'), Buffer.from('cafe', 'hex'), {
        maxBytes: 10,
        contentType: OCSP_CONTENT_TYPE,
      });
      expect(body.toString('hex')).toBe('3003');
      expect(seen).toEqual({ type: OCSP_CONTENT_TYPE, body: 'cafe', method: 'POST' });
      await expect(
        post(server.url('/see-other'), Buffer.of(1), { maxBytes: 10, contentType: 'x/y' }),
      ).rejects.toThrow(/redirect of a POST/);
      const tooBig = post(server.url('/big'), Buffer.of(1), { maxBytes: 10, contentType: 'x/y' });
      await expect(tooBig).rejects.toBeInstanceOf(HispError);
      await expect(tooBig).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    } finally {
      await server.close();
    }
  });
});
