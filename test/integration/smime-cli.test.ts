/**
 * `sealpost smime encrypt|decrypt` as IT scripts and support run it: the built command, its
 * flags, report JSON and exit codes (DESIGN.md §8), against OpenSSL and the interop vectors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestCa,
  issueEndEntityCert,
  type TestCa,
  type TestEndEntity,
} from '../services/certs.js';
import { opensslPkcs12, opensslReceive, opensslSend } from '../services/openssl-direct.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const root = resolve(import.meta.dirname, '..', '..');
const interop = resolve(root, '..', 'shared', 'interop');
const bin = join(root, 'bin', 'sealpost.js');

let dir: TempDir;
let ca: TestCa;
let alice: TestEndEntity;
let bob: TestEndEntity;
let message: Buffer;

function sealpost(args: string[], input?: Buffer, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [bin, ...args], {
    input,
    env,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

beforeAll(async () => {
  if (!existsSync(join(root, 'dist', 'hisp', 'cli.js')))
    throw new Error('dist/ is not built: run `npm run build` first (npm test does)');
  dir = await makeTempDir('smime-cli');
  ca = await createTestCa(dir.path);
  [alice, bob] = await Promise.all([
    issueEndEntityCert(ca, dir.path, { email: 'alice@a.example.test' }),
    issueEndEntityCert(ca, dir.path, { email: 'bob@b.example.test' }),
  ]);
  message = Buffer.from(
    'From: alice@a.example.test\r\nTo: bob@b.example.test\r\nSubject: Lab results\r\nMessage-ID: <cli-1@a.example.test>\r\n' +
      'Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHbA1c 6.1%\r\n',
  );
  await writeFile(join(dir.path, 'message.eml'), message);
  // Alice's identity as a PKCS#12 with a password, as IT would export it.
  await opensslPkcs12(alice, join(dir.path, 'alice.p12'), 'correct horse', {
    chain: ca.certPath,
  });
});
afterAll(async () => {
  await dir.remove();
});

describe('sealpost smime encrypt', () => {
  it('reads stdin, writes a Direct message to stdout that OpenSSL decrypts and verifies', async () => {
    const r = sealpost(
      [
        'smime',
        'encrypt',
        '--p12',
        join(dir.path, 'alice.p12'),
        '--pass',
        'env:P12_PASS',
        '--to',
        bob.certPath,
      ],
      message,
      {
        ...process.env,
        P12_PASS: 'correct horse',
      },
    );
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out.toString('latin1')).toMatch(
      /^Content-Type: application\/pkcs7-mime; smime-type=enveloped-data/m,
    );
    expect(out.includes('HbA1c')).toBe(false);
    expect(out.includes('Lab results')).toBe(false); // the Subject is protected, not copied outside
    const verified = await opensslReceive(out, {
      dir: dir.path,
      recipient: bob,
      caPath: ca.certPath,
    });
    expect(verified.toString('latin1')).toContain('HbA1c 6.1%');
  });

  it('refuses an identity that does not bind the From address (exit 2)', async () => {
    await writeFile(
      join(dir.path, 'mallory.eml'),
      message.toString().replace('From: alice@a.example.test', 'From: mallory@a.example.test'),
    );
    const r = sealpost([
      'smime',
      'encrypt',
      '--cert',
      alice.certPath,
      '--key',
      alice.keyPath,
      '--to',
      bob.certPath,
      '--in',
      join(dir.path, 'mallory.eml'),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain('[IDENTITY_MISMATCH]');
    expect(r.stdout.length).toBe(0);
  });

  it.each([
    [['smime', 'encrypt', '--cert', 'x', '--key', 'y'], /at least one --to CERT is required/],
    [
      ['smime', 'encrypt', '--p12', 'x', '--pass', 'hunter2', '--to', 'y'],
      /--pass takes env:NAME or file:PATH/,
    ],
    [['smime', 'encrypt', '--cipher', 'des', '--to', 'y'], /--cipher must be one of/],
    [['smime', 'decrypt', '--cert', 'x', '--key', 'y'], /at least one --anchor CERT is required/],
    [['smime', 'frobnicate'], /unknown subcommand/],
    [
      ['smime', 'encrypt', '--p12', '/nonexistent.p12', '--to', 'y'],
      /--p12 \/nonexistent\.p12: no such file/,
    ],
  ])('usage errors and unreadable input exit 1: %j', (args, expected) => {
    const r = sealpost(args);
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toMatch(expected);
  });

  it('a wrong PKCS#12 password is unreadable input (exit 1) and says so', async () => {
    await writeFile(join(dir.path, 'wrong.txt'), 'wrong\n');
    const r = sealpost(
      [
        'smime',
        'encrypt',
        '--p12',
        join(dir.path, 'alice.p12'),
        '--pass',
        `file:${join(dir.path, 'wrong.txt')}`,
        '--to',
        bob.certPath,
      ],
      message,
    );
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toContain('[PKCS12_BAD_PASSWORD]');
  });
});

describe('sealpost smime decrypt', () => {
  /** `smime decrypt` as Bob, with more flags. */
  const bobDecrypts = (...flags: string[]): string[] => [
    'smime',
    'decrypt',
    '--cert',
    bob.certPath,
    '--key',
    bob.keyPath,
    ...flags,
  ];

  it('decrypts an OpenSSL-built Direct message, writes the inner message and a report (exit 0)', async () => {
    const encrypted = await opensslSend(message, {
      dir: dir.path,
      signer: alice,
      recipient: bob,
      cipher: 'aes256-cbc',
      digest: 'sha256',
      from: 'alice@a.example.test',
      to: 'bob@b.example.test',
    });
    const report = join(dir.path, 'o.json');
    const out = join(dir.path, 'o.inner');
    const r = sealpost([
      ...bobDecrypts(),
      '--anchor',
      ca.derPath,
      '--offline',
      '--revocation',
      'off',
      '--in',
      encrypted,
      '--out',
      out,
      '--report',
      report,
    ]);
    expect(r.stderr.toString()).toBe('');
    expect(r.status).toBe(0);
    expect((await readFile(out)).equals(message)).toBe(true);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const json = JSON.parse(await readFile(report, 'utf8')) as Record<string, unknown>;
    expect(json).toEqual({
      decrypted: true,
      signatureValid: true,
      trusted: true,
      signer: {
        address: 'alice@a.example.test',
        subject: expect.stringContaining('alice@a.example.test') as unknown,
        fingerprintSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      },
      cipher: 'aes256-cbc',
      keyTransport: 'pkcs1',
      digest: 'sha256',
      reasons: [],
    });
  });

  it('EncryptedMessage2 under the wrong anchor: decrypted but untrusted (exit 4), nothing written without --allow-untrusted', async () => {
    const ri = join(interop, 'java-ri');
    const report = join(dir.path, 'ri.json');
    const args = [
      'smime',
      'decrypt',
      '--cert',
      join(ri, 'ryan.der'),
      '--key',
      join(ri, 'ryanKey.der'),
      '--anchor',
      join(ri, 'cacert.der'),
      '--offline',
      '--in',
      join(ri, 'EncryptedMessage2.txt'),
      '--report',
      report,
    ];
    const r = sealpost(args);
    expect(r.status).toBe(4);
    expect(r.stdout.length).toBe(0);
    const json = JSON.parse(await readFile(report, 'utf8')) as {
      decrypted: boolean;
      trusted: boolean;
      reasons: { code: string }[];
    };
    expect(json.decrypted).toBe(true);
    expect(json.trusted).toBe(false);
    expect(json.reasons.map((x) => x.code)).toContain('CERT_UNTRUSTED');
    const allowed = sealpost([...args, '--allow-untrusted']);
    expect(allowed.status).toBe(4);
    expect(allowed.stdout.toString('latin1')).toMatch(/^Subject: test pic/m);
  });

  it('a message encrypted to someone else cannot be decrypted (exit 3)', () => {
    const ri = join(interop, 'java-ri');
    const r = sealpost([
      'smime',
      'decrypt',
      '--cert',
      join(ri, 'ryan.der'),
      '--key',
      join(ri, 'ryanKey.der'),
      '--anchor',
      join(ri, 'secureHealthEmailCACert.der'),
      '--offline',
      '--in',
      join(ri, 'EncryptedMessage.txt'),
    ]);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toMatch(/\[(NO_MATCHING_RECIPIENT|DECRYPT_FAILED)\]/);
  });

  it('risk-8: a plain, unencrypted message is refused (exit 3, NOT_SMIME)', () => {
    const r = sealpost(bobDecrypts('--anchor', ca.certPath, '--offline'), message);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toContain('[NOT_SMIME]');
    expect(r.stdout.length).toBe(0);
  });

  it('a --crl that is not a CRL is unreadable input (exit 1) naming the file, not "revocation unknown"', async () => {
    const crl = join(dir.path, 'not-a.crl');
    await writeFile(crl, 'this is not a revocation list\n');
    const r = sealpost(bobDecrypts('--anchor', ca.certPath, '--crl', crl, '--offline'), message);
    expect(r.status).toBe(1);
    expect(r.stderr.toString()).toContain(
      `--crl ${crl}: A certificate revocation list could not be read: it is neither DER nor PEM "X509 CRL". [CERT_MALFORMED]`,
    );
    expect(r.stdout.length).toBe(0);
  });
});
