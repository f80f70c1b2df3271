/**
 * Test PKI for the certs tests, made by the `openssl` CLI (an implementation other than the
 * one under test): roots, intermediates and end-entity certificates through `openssl ca`
 * (so dates, digests and extensions are exact), revocation with `openssl ca -revoke`, CRLs
 * with `openssl ca -gencrl`, PKCS#7 bundles with `openssl crl2pkcs7`. RSA keys come from a
 * per-file pool (generated once, reused), so a whole matrix costs a handful of key
 * generations. Also a loopback HTTP server (127.0.0.1, port 0) that serves fixed bodies and
 * counts hits, for AIA and CRL distribution points.
 */
import { generateKeyPair } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { createLogger, type Logger } from '../../hisp/log/logger.js';
import { findBinary, run } from '../services/proc.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const generateKeyPairAsync = promisify(generateKeyPair);

export function openssl(): string {
  return findBinary('openssl', 'openssl');
}

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` and `-crl_*update` take it. */
export function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export const DAY = 24 * 60 * 60 * 1000;

export interface Issued {
  readonly name: string;
  readonly keyPath: string;
  readonly certPath: string;
  readonly pem: string;
  readonly der: Buffer;
  readonly cert: ParsedCertificate;
  /** The issuing authority's directory (database, serial, CRL number) if this is a CA. */
  readonly caDir: string;
}

export interface IssueOptions {
  /** openssl -subj form, e.g. `/O=Sealpost Tests/CN=Leaf`. */
  readonly subject: string;
  /** Key from the pool (default: a key named after the certificate). */
  readonly key?: string;
  /** RSA bits for a new pool key. Default 2048. */
  readonly bits?: number;
  /** Digest of the issuer's signature. Default sha256. */
  readonly md?: 'sha256' | 'sha384' | 'sha1' | 'md5';
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** openssl x509v3 config lines. */
  readonly extensions: readonly string[];
  /** Give it a CA database even without CA:TRUE (to test issuers that are not CAs). */
  readonly asIssuer?: boolean;
}

export interface CaExtensionOptions {
  readonly pathLen?: number;
  readonly keyUsage?: string;
  readonly ca?: boolean;
  readonly crlUrl?: string;
  readonly caIssuersUrl?: string;
  readonly aki?: boolean;
}

export function caExtensions(options: CaExtensionOptions = {}): string[] {
  const ca = options.ca ?? true;
  return [
    `basicConstraints=critical,CA:${ca ? 'TRUE' : 'FALSE'}${ca && options.pathLen !== undefined ? `,pathlen:${options.pathLen}` : ''}`,
    `keyUsage=critical,${options.keyUsage ?? 'keyCertSign,cRLSign'}`,
    'subjectKeyIdentifier=hash',
    ...(options.aki === false ? [] : ['authorityKeyIdentifier=keyid']),
    ...(options.crlUrl ? [`crlDistributionPoints=URI:${options.crlUrl}`] : []),
    ...(options.caIssuersUrl ? [`authorityInfoAccess=caIssuers;URI:${options.caIssuersUrl}`] : []),
  ];
}

export interface LeafExtensionOptions {
  readonly email?: string;
  readonly dnsNames?: readonly string[];
  /** `false` leaves the extension out. */
  readonly keyUsage?: string | false;
  readonly extKeyUsage?: string | false;
  readonly crlUrl?: string;
  readonly caIssuersUrl?: string;
  /** An AIA OCSP responder URL. */
  readonly ocspUrl?: string;
}

export function leafExtensions(options: LeafExtensionOptions = {}): string[] {
  const sans = [
    ...(options.email ? [`email:${options.email}`] : []),
    ...(options.dnsNames ?? []).map((d) => `DNS:${d}`),
  ];
  return [
    'basicConstraints=critical,CA:FALSE',
    ...(options.keyUsage === false
      ? []
      : [`keyUsage=critical,${options.keyUsage ?? 'digitalSignature,keyEncipherment'}`]),
    ...(options.extKeyUsage === false
      ? []
      : [`extendedKeyUsage=${options.extKeyUsage ?? 'emailProtection'}`]),
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
    ...(options.crlUrl ? [`crlDistributionPoints=URI:${options.crlUrl}`] : []),
    ...aiaExtension(options),
  ];
}

function aiaExtension(options: LeafExtensionOptions): string[] {
  const access = [
    ...(options.caIssuersUrl ? [`caIssuers;URI:${options.caIssuersUrl}`] : []),
    ...(options.ocspUrl ? [`OCSP;URI:${options.ocspUrl}`] : []),
  ];
  return access.length > 0 ? [`authorityInfoAccess=${access.join(',')}`] : [];
}

/** A throwaway PKI in a temp dir. Call `remove()` in afterAll. */
export class TestPki {
  readonly dir: string;
  readonly #temp: TempDir;
  readonly #keys = new Map<string, Promise<string>>();
  /** `openssl ca` rewrites its serial and database files: one command per CA at a time. */
  readonly #locks = new Map<string, Promise<unknown>>();
  #counter = 0;

  private constructor(temp: TempDir) {
    this.#temp = temp;
    this.dir = temp.path;
  }

  static async create(prefix = 'certs'): Promise<TestPki> {
    return new TestPki(await makeTempDir(prefix));
  }

  remove(): Promise<void> {
    return this.#temp.remove();
  }

  /** A pool key (PKCS#8 PEM path), generated on first use. */
  key(name: string, bits = 2048): Promise<string> {
    const id = `${name}-${bits}`;
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = (async () => {
        const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: bits });
        const path = join(this.dir, `key-${id}.pem`);
        await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
        return path;
      })();
      this.#keys.set(id, key);
    }
    return key;
  }

  #locked<T>(caDir: string, action: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(caDir) ?? Promise.resolve();
    const next = previous.then(action, action);
    this.#locks.set(
      caDir,
      next.catch(() => undefined),
    );
    return next;
  }

  async #caDir(name: string, keyPath: string): Promise<string> {
    const caDir = join(this.dir, `ca-${name}`);
    await mkdir(join(caDir, 'newcerts'), { recursive: true });
    await writeFile(join(caDir, 'index.txt'), '');
    await writeFile(join(caDir, 'index.txt.attr'), 'unique_subject = no\n');
    // Serials are unique per issuer; random ones keep different CAs apart.
    const serial = `${(0x10 + this.#counter++).toString(16)}${Math.floor(Math.random() * 0xffffff)
      .toString(16)
      .padStart(6, '0')}`;
    await writeFile(join(caDir, 'serial'), `${serial.length % 2 === 1 ? '0' : ''}${serial}\n`);
    await writeFile(join(caDir, 'crlnumber'), '01\n');
    await writeFile(
      join(caDir, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = CA_default',
        '[ CA_default ]',
        `database = ${join(caDir, 'index.txt')}`,
        `new_certs_dir = ${join(caDir, 'newcerts')}`,
        `certificate = ${join(caDir, 'cert.pem')}`,
        `private_key = ${keyPath}`,
        `serial = ${join(caDir, 'serial')}`,
        `crlnumber = ${join(caDir, 'crlnumber')}`,
        'default_md = sha256',
        'default_days = 30',
        'default_crl_days = 1',
        'policy = policy_any',
        'unique_subject = no',
        'copy_extensions = none',
        'crl_extensions = crl_ext',
        '[ crl_ext ]',
        'authorityKeyIdentifier = keyid:always',
        '[ policy_any ]',
        'commonName = optional',
        '',
      ].join('\n'),
    );
    return caDir;
  }

  async #sign(
    name: string,
    options: IssueOptions,
    issuerCaDir: string | undefined,
  ): Promise<Issued> {
    const keyPath = await this.key(options.key ?? name, options.bits ?? 2048);
    const csrPath = join(this.dir, `${name}.csr`);
    const extPath = join(this.dir, `${name}.ext`);
    const certPath = join(this.dir, `${name}.pem`);
    await writeFile(extPath, `${options.extensions.join('\n')}\n`);
    await run(openssl(), [
      'req',
      '-new',
      '-key',
      keyPath,
      '-subj',
      options.subject,
      '-out',
      csrPath,
    ]);
    // A CA gets its own database; a self-signed root signs itself from it.
    const isCa = options.asIssuer ?? options.extensions.some((line) => /CA:TRUE/.test(line));
    const ownCaDir = isCa ? await this.#caDir(name, keyPath) : '';
    const signerDir = issuerCaDir ?? ownCaDir;
    const notBefore = options.notBefore ?? new Date(Date.now() - DAY);
    const notAfter = options.notAfter ?? new Date(Date.now() + 30 * DAY);
    await this.#locked(signerDir, () =>
      run(openssl(), [
        'ca',
        '-batch',
        '-config',
        join(signerDir, 'ca.cnf'),
        ...(issuerCaDir === undefined ? ['-selfsign', '-keyfile', keyPath] : []),
        '-in',
        csrPath,
        '-out',
        certPath,
        '-extfile',
        extPath,
        '-notext',
        '-preserveDN',
        '-md',
        options.md ?? 'sha256',
        '-startdate',
        asn1Time(notBefore),
        '-enddate',
        asn1Time(notAfter),
      ]),
    );
    if (isCa && ownCaDir !== '') {
      await writeFile(join(ownCaDir, 'cert.pem'), await readFile(certPath));
    }
    const pem = await readFile(certPath, 'utf8');
    const der = pemToDer(pem);
    return { name, keyPath, certPath, pem, der, cert: parseCertificate(der), caDir: ownCaDir };
  }

  /** A self-signed root (extensions default to a CA). */
  root(name: string, options: Partial<IssueOptions> = {}): Promise<Issued> {
    return this.#sign(
      name,
      {
        ...options,
        subject: options.subject ?? `/O=Sealpost Tests/CN=${name}`,
        extensions: options.extensions ?? caExtensions({ aki: false }),
      },
      undefined,
    );
  }

  /** A certificate signed by `issuer` (a root or an intermediate made here). */
  issue(issuer: Issued, name: string, options: IssueOptions): Promise<Issued> {
    if (issuer.caDir === '') throw new Error(`${issuer.name} is not a CA made by TestPki`);
    return this.#sign(name, options, issuer.caDir);
  }

  /** `openssl ca -revoke`. */
  async revoke(issuer: Issued, cert: Issued, reason = 'keyCompromise'): Promise<void> {
    await this.#locked(issuer.caDir, () =>
      run(openssl(), [
        'ca',
        '-config',
        join(issuer.caDir, 'ca.cnf'),
        '-revoke',
        cert.certPath,
        '-crl_reason',
        reason,
      ]),
    );
  }

  /** `openssl ca -gencrl` (DER), by default valid from an hour ago for a day. */
  async crl(
    issuer: Issued,
    options: { lastUpdate?: Date; nextUpdate?: Date; md?: string } = {},
  ): Promise<Buffer> {
    const out = join(this.dir, `crl-${issuer.name}-${this.#counter++}.pem`);
    await this.#locked(issuer.caDir, () =>
      run(openssl(), [
        'ca',
        '-gencrl',
        '-config',
        join(issuer.caDir, 'ca.cnf'),
        '-md',
        options.md ?? 'sha256',
        '-crl_lastupdate',
        asn1Time(options.lastUpdate ?? new Date(Date.now() - 60 * 60 * 1000)),
        '-crl_nextupdate',
        asn1Time(options.nextUpdate ?? new Date(Date.now() + DAY)),
        '-out',
        out,
      ]),
    );
    const derPath = `${out}.der`;
    await run(openssl(), ['crl', '-in', out, '-outform', 'DER', '-out', derPath]);
    return readFile(derPath);
  }

  /** A PKCS#7 certs-only bundle (`openssl crl2pkcs7 -nocrl`), DER or PEM. */
  async pkcs7(certs: readonly Issued[], form: 'DER' | 'PEM'): Promise<Buffer> {
    const out = join(this.dir, `bundle-${this.#counter++}.p7`);
    await run(openssl(), [
      'crl2pkcs7',
      '-nocrl',
      ...certs.flatMap((c) => ['-certfile', c.certPath]),
      '-outform',
      form,
      '-out',
      out,
    ]);
    return readFile(out);
  }
}

export interface OcspResponderOptions {
  /** The CA whose `index.txt` (openssl ca database) answers. */
  readonly ca: Issued;
  /** Who signs the answers (the CA itself or a delegated responder). */
  readonly signer: Issued;
  /** Days until nextUpdate (`-ndays`); default 1. */
  readonly ndays?: number;
}

/**
 * OpenSSL's OCSP responder (`openssl ocsp -index … -CA … -rsigner … -rkey …`) answering one
 * DER request, in file mode (`-reqin`/`-respout`): the same responder code as `-port`, which
 * in OpenSSL 3.0 takes only a port number and binds every interface — the tests serve it
 * over a loopback-only HTTP server instead.
 */
export async function opensslOcspRespond(
  pki: TestPki,
  options: OcspResponderOptions,
  request: Uint8Array,
): Promise<Buffer> {
  const id = `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const reqPath = join(pki.dir, `ocsp-req-${id}.der`);
  const respPath = join(pki.dir, `ocsp-resp-${id}.der`);
  await writeFile(reqPath, request);
  await run(openssl(), [
    'ocsp',
    '-index',
    join(options.ca.caDir, 'index.txt'),
    '-CA',
    options.ca.certPath,
    '-rsigner',
    options.signer.certPath,
    '-rkey',
    options.signer.keyPath,
    '-ndays',
    String(options.ndays ?? 1),
    '-reqin',
    reqPath,
    '-respout',
    respPath,
  ]);
  return readFile(respPath);
}

export function pemToDer(pem: string): Buffer {
  const body = pem.replace(/-----(BEGIN|END) [^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
}

// ── A loopback HTTP server with fixed answers and hit counts ─────────────────────────────
export type Answer =
  | {
      readonly body: Buffer | string;
      readonly status?: number;
      readonly headers?: Record<string, string>;
    }
  | ((request: IncomingMessage, response: ServerResponse) => void);

export interface FileServer {
  readonly origin: string;
  url(path: string): string;
  set(path: string, answer: Answer): void;
  hits(path: string): number;
  close(): Promise<void>;
}

export async function startFileServer(): Promise<FileServer> {
  const answers = new Map<string, Answer>();
  const hits = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = answers.get(path);
    if (answer === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    if (typeof answer === 'function') {
      answer(request, response);
      return;
    }
    response.writeHead(answer.status ?? 200, answer.headers ?? {}).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    set: (path, answer) => answers.set(path, answer),
    hits: (path) => hits.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A logger whose JSON lines are kept for assertions. */
export function captureLogger(): { logger: Logger; records: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (line) => lines.push(line) });
  return {
    logger,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export const INTEROP_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'interop');

export async function interopCert(name: string): Promise<ParsedCertificate> {
  return parseCertificate(await readFile(join(INTEROP_DIR, 'java-ri', name)));
}

export function codesOf(reasons: readonly { code: string }[]): string[] {
  return [...new Set(reasons.map((r) => r.code))].sort();
}
