/**
 * Name constraints in path validation, on certificates made by `openssl ca` with
 * `nameConstraints=...` extensions: permitted and excluded rfc822Name / dNSName /
 * directoryName / iPAddress subtrees on an anchor and on intermediates, the intersection
 * down the chain, the subject emailAddress, critical and non-critical extensions, and a form
 * Sealpost does not check. Where the RFC 5280 rules are the same in OpenSSL, `openssl verify`
 * (an independent implementation) is asked too and must agree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validatePath, type PathOptions, type PathResult } from '../../hisp/certs/path.js';
import { createSilentLogger } from '../../hisp/log/logger.js';
import { runToEnd } from '../services/proc.js';
import {
  TestPki,
  caExtensions,
  codesOf,
  leafExtensions,
  openssl,
  type Issued,
  type LeafExtensionOptions,
} from '../unit/certs-fixtures.js';

let pki: TestPki;

async function validate(
  leaf: Issued,
  anchor: Issued,
  intermediates: readonly Issued[] = [],
  overrides: Partial<PathOptions> = {},
): Promise<PathResult> {
  return validatePath(leaf.cert, {
    anchors: [anchor.cert],
    intermediates: intermediates.map((c) => c.cert),
    revocation: 'off',
    logger: createSilentLogger(),
    ...overrides,
  });
}

/** `openssl verify` of the same path: true when OpenSSL accepts it. */
async function opensslAccepts(
  leaf: Issued,
  anchor: Issued,
  intermediates: readonly Issued[] = [],
): Promise<{ ok: boolean; output: string }> {
  const result = await runToEnd(openssl(), [
    'verify',
    '-CAfile',
    anchor.certPath,
    ...intermediates.flatMap((c) => ['-untrusted', c.certPath]),
    leaf.certPath,
  ]);
  return { ok: result.code === 0, output: `${result.stdout}${result.stderr}` };
}

/** A CA certificate (root or intermediate) with name constraint lines added. */
function constrainedCa(lines: readonly string[], sections: readonly string[] = []): string[] {
  return [...caExtensions({ aki: true }), ...lines, ...sections];
}

let counter = 0;
async function issueLeaf(
  issuer: Issued,
  options: LeafExtensionOptions & { subject?: string; ips?: readonly string[] },
): Promise<Issued> {
  const name = `leaf-${counter++}`;
  const extensions = leafExtensions(options);
  const ips = (options.ips ?? []).map((address) => `IP:${address}`);
  return pki.issue(issuer, name, {
    subject: options.subject ?? `/O=Sealpost Tests/CN=NC leaf ${counter}`,
    key: 'ee',
    extensions:
      ips.length === 0
        ? extensions
        : extensions.map((line) =>
            line.startsWith('subjectAltName=') ? `${line},${ips.join(',')}` : line,
          ),
  });
}

function constraintReasons(result: PathResult): string[] {
  return result.reasons.filter((r) => r.code === 'CERT_NAME_CONSTRAINTS').map((r) => r.message);
}

// The CAs.
let permitRoot: Issued;
let excludeRoot: Issued;
let plainRoot: Issued;
let constrainedInter: Issued;
let narrowerInter: Issued;
let dirRoot: Issued;
let dirInterGood: Issued;
let dirInterBad: Issued;
let uriCritical: Issued;
let uriNonCritical: Issued;
let nonCritical: Issued;
let ipRoot: Issued;
let maximumRoot: Issued;

beforeAll(async () => {
  pki = await TestPki.create('certs-nc');
  await Promise.all(['root', 'inter', 'ee', 'other'].map((k) => pki.key(k)));
  const root = (name: string, lines: readonly string[], sections: readonly string[] = []) =>
    pki.root(name, {
      subject: `/O=Sealpost Tests/CN=${name}`,
      key: 'root',
      extensions: [...caExtensions({ aki: false }), ...lines, ...sections],
    });

  // The brief's CA: e-mail below good.test, DNS names at and below good.test.
  permitRoot = await root('NC Permit Root', [
    'nameConstraints=critical,permitted;email:.good.test,permitted;DNS:good.test',
  ]);
  excludeRoot = await root('NC Exclude Root', [
    'nameConstraints=critical,excluded;email:.evil.test,excluded;email:evil.test,excluded;DNS:evil.test',
  ]);
  plainRoot = await root('NC Plain Root', []);
  constrainedInter = await pki.issue(plainRoot, 'nc-inter', {
    subject: '/O=Sealpost Tests/CN=NC Constrained Intermediate',
    key: 'inter',
    extensions: constrainedCa([
      'nameConstraints=critical,permitted;email:good.test,permitted;email:.good.test,excluded;email:secret.good.test',
    ]),
  });
  narrowerInter = await pki.issue(constrainedInter, 'nc-narrower', {
    subject: '/O=Sealpost Tests/CN=NC Narrower Intermediate',
    key: 'other',
    extensions: constrainedCa(['nameConstraints=critical,permitted;email:mail.good.test']),
  });
  dirRoot = await root(
    'NC Dir Root',
    ['nameConstraints=critical,permitted;dirName:nc_dir'],
    ['[nc_dir]', 'O=Sealpost Tests'],
  );
  dirInterGood = await pki.issue(dirRoot, 'nc-dir-good', {
    subject: '/O=Sealpost Tests/CN=NC Dir Intermediate',
    key: 'inter',
    extensions: constrainedCa([]),
  });
  dirInterBad = await pki.issue(dirRoot, 'nc-dir-bad', {
    subject: '/O=Elsewhere Inc/CN=NC Dir Stray Intermediate',
    key: 'other',
    extensions: constrainedCa([]),
  });
  uriCritical = await root('NC URI Critical Root', [
    'nameConstraints=critical,permitted;URI:.good.test',
  ]);
  uriNonCritical = await root('NC URI Root', ['nameConstraints=permitted;URI:.good.test']);
  nonCritical = await root('NC Non-critical Root', ['nameConstraints=permitted;email:.good.test']);
  ipRoot = await root('NC IP Root', ['nameConstraints=critical,permitted;IP:10.0.0.0/255.0.0.0']);
  // OpenSSL's config cannot write minimum/maximum: the extension as raw DER.
  // NameConstraints { permittedSubtrees [0] { GeneralSubtree { dNSName "good.test", maximum [1] 3 } } }
  maximumRoot = await root('NC Maximum Root', [
    `2.5.29.30=critical,DER:3012a010300e8209${Buffer.from('good.test').toString('hex')}810103`,
  ]);
}, 120_000);

afterAll(async () => {
  await pki.remove();
});

describe('name constraints read from OpenSSL-made certificates', () => {
  it('the extension is processed, not refused as an unknown critical extension', () => {
    expect(permitRoot.cert.unhandledCriticalExtensions).toEqual([]);
    expect(permitRoot.cert.nameConstraints).toEqual({
      critical: true,
      permitted: [
        { form: 'rfc822Name', value: '.good.test' },
        { form: 'dNSName', value: 'good.test' },
      ],
      excluded: undefined,
      problems: [],
    });
    expect(nonCritical.cert.nameConstraints?.critical).toBe(false);
    expect(dirRoot.cert.nameConstraints?.permitted?.[0]).toMatchObject({
      form: 'directoryName',
      name: { text: 'O=Sealpost Tests' },
    });
    expect(ipRoot.cert.nameConstraints?.permitted).toEqual([
      { form: 'iPAddress', bytes: Buffer.from([10, 0, 0, 0, 255, 0, 0, 0]) },
    ]);
    expect(uriCritical.cert.nameConstraints?.permitted).toEqual([
      { form: 'other', label: 'uniformResourceIdentifier' },
    ]);
  });
});

describe('permitted subtrees on the anchor (email:.good.test, DNS:good.test)', () => {
  it('a@mail.good.test with DNS direct.good.test is within them: trusted, as OpenSSL says', async () => {
    const leaf = await issueLeaf(permitRoot, {
      email: 'a@mail.good.test',
      dnsNames: ['direct.good.test'],
    });
    const result = await validate(leaf, permitRoot);
    expect(result.reasons).toEqual([]);
    expect(result.trusted).toBe(true);
    expect((await opensslAccepts(leaf, permitRoot)).ok).toBe(true);
  });

  it('a@evil.test: CERT_NAME_CONSTRAINTS naming the address and the CA; OpenSSL refuses too', async () => {
    const leaf = await issueLeaf(permitRoot, { email: 'a@evil.test' });
    const result = await validate(leaf, permitRoot);
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NAME_CONSTRAINTS']);
    const [message] = constraintReasons(result);
    expect(message).toContain('"a@evil.test"');
    expect(message).toContain('trust anchor "CN=NC Permit Root,O=Sealpost Tests"');
    expect(message).toContain('email:.good.test');
    const verdict = await opensslAccepts(leaf, permitRoot);
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toMatch(/permitted subtree violation/);
  });

  it('a@good.test: ".good.test" covers hosts below good.test, not good.test itself (RFC 5280; OpenSSL agrees)', async () => {
    const leaf = await issueLeaf(permitRoot, { email: 'a@good.test' });
    const result = await validate(leaf, permitRoot);
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NAME_CONSTRAINTS']);
    expect((await opensslAccepts(leaf, permitRoot)).ok).toBe(false);
  });

  it('a DNS name outside good.test is refused', async () => {
    const leaf = await issueLeaf(permitRoot, {
      email: 'a@mail.good.test',
      dnsNames: ['goodtest.evil.test'],
    });
    const result = await validate(leaf, permitRoot);
    expect(constraintReasons(result).join('\n')).toContain('dNSName "goodtest.evil.test"');
    expect(result.trusted).toBe(false);
    expect((await opensslAccepts(leaf, permitRoot)).ok).toBe(false);
  });

  it('a subject emailAddress outside the subtrees is refused even when the SAN is inside', async () => {
    const leaf = await issueLeaf(permitRoot, {
      email: 'a@mail.good.test',
      subject: '/O=Sealpost Tests/CN=NC leaf subject email/emailAddress=a@evil.test',
    });
    expect(leaf.cert.subjectEmailAddresses).toEqual(['a@evil.test']);
    // The subject e-mail never binds an address: the SAN is all the binding code sees.
    expect(leaf.cert.rfc822Names).toEqual(['a@mail.good.test']);
    const result = await validate(leaf, permitRoot);
    expect(result.trusted).toBe(false);
    expect(constraintReasons(result).join('\n')).toContain('emailAddress a@evil.test');
    expect((await opensslAccepts(leaf, permitRoot)).ok).toBe(false);
  });
});

describe('excluded subtrees', () => {
  it('an address in an excluded subtree is refused; others pass (OpenSSL agrees)', async () => {
    const bad = await issueLeaf(excludeRoot, { email: 'x@mail.evil.test' });
    const result = await validate(bad, excludeRoot);
    expect(result.trusted).toBe(false);
    expect(constraintReasons(result).join('\n')).toMatch(
      /"x@mail\.evil\.test" is in the excluded subtree email:\.evil\.test/,
    );
    const verdict = await opensslAccepts(bad, excludeRoot);
    expect(verdict.ok).toBe(false);
    expect(verdict.output).toMatch(/excluded subtree violation/);

    const host = await issueLeaf(excludeRoot, { email: 'x@EVIL.test' });
    expect((await validate(host, excludeRoot)).trusted).toBe(false);

    const fine = await issueLeaf(excludeRoot, { email: 'x@good.test', dnsNames: ['good.test'] });
    const ok = await validate(fine, excludeRoot);
    expect(ok.reasons).toEqual([]);
    expect(ok.trusted).toBe(true);
    expect((await opensslAccepts(fine, excludeRoot)).ok).toBe(true);
  });
});

describe('constraints on intermediates', () => {
  it('an intermediate under an unconstrained root constrains its leaves', async () => {
    const cases: [string, boolean][] = [
      ['a@good.test', true],
      ['a@mail.good.test', true],
      ['a@secret.good.test', false],
      ['a@evil.test', false],
    ];
    for (const [address, trusted] of cases) {
      const leaf = await issueLeaf(constrainedInter, { email: address });
      const result = await validate(leaf, plainRoot, [constrainedInter]);
      expect(result.trusted, address).toBe(trusted);
      expect(codesOf(result.reasons), address).toEqual(trusted ? [] : ['CERT_NAME_CONSTRAINTS']);
      if (!trusted) {
        expect(constraintReasons(result)[0]).toContain(
          'intermediate CA "CN=NC Constrained Intermediate',
        );
      }
      expect((await opensslAccepts(leaf, plainRoot, [constrainedInter])).ok, address).toBe(trusted);
    }
  });

  it('constraints intersect down the chain: both intermediates must permit the address', async () => {
    const chain = [narrowerInter, constrainedInter];
    const inBoth = await issueLeaf(narrowerInter, { email: 'a@mail.good.test' });
    expect((await validate(inBoth, plainRoot, chain)).trusted).toBe(true);
    expect((await opensslAccepts(inBoth, plainRoot, chain)).ok).toBe(true);

    // Permitted by the upper intermediate only.
    const upperOnly = await issueLeaf(narrowerInter, { email: 'a@good.test' });
    const result = await validate(upperOnly, plainRoot, chain);
    expect(result.trusted).toBe(false);
    const messages = constraintReasons(result);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('NC Narrower Intermediate');
    expect((await opensslAccepts(upperOnly, plainRoot, chain)).ok).toBe(false);
  });

  it("an intermediate's own subject is held to the anchor's directoryName constraint", async () => {
    const good = await issueLeaf(dirInterGood, { email: 'a@good.test' });
    const ok = await validate(good, dirRoot, [dirInterGood]);
    expect(ok.reasons).toEqual([]);
    expect(ok.trusted).toBe(true);
    expect((await opensslAccepts(good, dirRoot, [dirInterGood])).ok).toBe(true);

    const stray = await issueLeaf(dirInterBad, { email: 'a@good.test' });
    const result = await validate(stray, dirRoot, [dirInterBad]);
    expect(result.trusted).toBe(false);
    const messages = constraintReasons(result);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(
      /^Intermediate CA "CN=NC Dir Stray Intermediate,O=Elsewhere Inc".* directoryName "CN=NC Dir Stray Intermediate,O=Elsewhere Inc" is outside the permitted directoryName subtrees \(dirName:O=Sealpost Tests\)/,
    );
    expect((await opensslAccepts(stray, dirRoot, [dirInterBad])).ok).toBe(false);
  });
});

describe('criticality and forms', () => {
  it('a non-critical extension is still applied', async () => {
    const bad = await issueLeaf(nonCritical, { email: 'a@evil.test' });
    expect(codesOf((await validate(bad, nonCritical)).reasons)).toEqual(['CERT_NAME_CONSTRAINTS']);
    const good = await issueLeaf(nonCritical, { email: 'a@mail.good.test' });
    expect((await validate(good, nonCritical)).trusted).toBe(true);
  });

  it('a critical constraint on a form Sealpost does not check refuses the path, with a clear message', async () => {
    const leaf = await issueLeaf(uriCritical, { email: 'a@mail.good.test' });
    const result = await validate(leaf, uriCritical);
    expect(result.trusted).toBe(false);
    expect(codesOf(result.reasons)).toEqual(['CERT_NAME_CONSTRAINTS']);
    expect(constraintReasons(result)[0]).toMatch(
      /The name constraints of trust anchor "CN=NC URI Critical Root.* cannot be applied \(they constrain uniformResourceIdentifier names, a form Sealpost does not check, in a critical extension\)/,
    );
    // The same form in a non-critical extension is ignored.
    const other = await issueLeaf(uriNonCritical, { email: 'a@mail.good.test' });
    expect((await validate(other, uriNonCritical)).trusted).toBe(true);
  });

  it('a subtree with a maximum (RFC 5280 forbids it) refuses the path', async () => {
    expect(maximumRoot.cert.nameConstraints?.problems).toEqual([
      'a permitted dNSName subtree has a maximum (RFC 5280 forbids it)',
    ]);
    const leaf = await issueLeaf(maximumRoot, { email: 'a@good.test', dnsNames: ['good.test'] });
    const result = await validate(leaf, maximumRoot);
    expect(result.trusted).toBe(false);
    expect(constraintReasons(result)).toEqual([
      expect.stringMatching(/cannot be applied \(a permitted dNSName subtree has a maximum/),
    ]);
  });

  it('an empty subtree list is a malformed certificate, not an unconstrained CA', async () => {
    await expect(
      pki.root('NC Empty Root', {
        subject: '/O=Sealpost Tests/CN=NC Empty Root',
        key: 'root',
        extensions: [...caExtensions({ aki: false }), '2.5.29.30=critical,DER:3002a000'],
      }),
    ).rejects.toMatchObject({
      code: 'CERT_MALFORMED',
      message: expect.stringMatching(/nameConstraints permittedSubtrees field is empty/) as unknown,
    });
  });

  it('iPAddress subtrees: an address in the network passes, one outside is refused (OpenSSL agrees)', async () => {
    const inside = await issueLeaf(ipRoot, { email: 'a@good.test', ips: ['10.1.2.3'] });
    expect(inside.cert.ipAddresses).toEqual([Buffer.from([10, 1, 2, 3])]);
    expect((await validate(inside, ipRoot)).trusted).toBe(true);
    expect((await opensslAccepts(inside, ipRoot)).ok).toBe(true);
    const outside = await issueLeaf(ipRoot, { email: 'a@good.test', ips: ['192.168.1.1'] });
    const result = await validate(outside, ipRoot);
    expect(result.trusted).toBe(false);
    expect(constraintReasons(result)[0]).toContain('iPAddress "192.168.1.1"');
    expect((await opensslAccepts(outside, ipRoot)).ok).toBe(false);
  });
});
