/**
 * Name constraint matching (RFC 5280 §4.2.1.10): the rules of hisp/certs/nameConstraints.ts
 * one by one, with the tricky cases (`.domain` vs `domain`, `@host`, case in local parts and
 * domains, IDNs as written, wildcards, excluded over permitted, the intersection down a
 * chain). Directory names are built as DER and read by the certificate module's own Name
 * reader, so the comparison keys are the real ones.
 */
import { describe, expect, it } from 'vitest';

import { DerTag, oid, sequence, setOf, tlv } from '../../hisp/asn1/der.js';
import { parseName } from '../../hisp/certs/certificate.js';
import {
  asciiLower,
  checkNameConstraints,
  constraintRefusals,
  describeSubtree,
  directoryNameMatches,
  dnsMatches,
  dnsWildcardOverlaps,
  ipAddressMatches,
  rfc822Matches,
  type ConstrainedNames,
  type DirectoryName,
  type NameConstraints,
  type SubtreeBase,
} from '../../hisp/certs/nameConstraints.js';

const ATTRIBUTE: Record<string, string> = {
  C: '2.5.4.6',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

/** A Name from RDNs given most significant first, e.g. [['C=US'], ['O=Good', 'OU=Mail']]. */
function directoryName(rdns: readonly (readonly string[])[]): DirectoryName {
  const der = sequence(
    ...rdns.map((rdn) =>
      setOf(
        ...rdn.map((pair) => {
          const [type = '', value = ''] = pair.split('=');
          const id = ATTRIBUTE[type];
          if (id === undefined) throw new Error(`no attribute ${type}`);
          return sequence(oid(id), tlv(DerTag.UTF8String, Buffer.from(value, 'utf8')));
        }),
      ),
    ),
  );
  const view = parseName(der, 'test');
  return { text: view.text, rdns: view.rdns };
}

const email = (value: string): SubtreeBase => ({ form: 'rfc822Name', value });
const dns = (value: string): SubtreeBase => ({ form: 'dNSName', value });
const ip = (...octets: number[]): SubtreeBase & { form: 'iPAddress' } => ({
  form: 'iPAddress',
  bytes: Uint8Array.from(octets),
});

function constraints(
  permitted: SubtreeBase[] | undefined,
  excluded: SubtreeBase[] | undefined = undefined,
  critical = true,
): NameConstraints {
  return { critical, permitted, excluded, problems: [] };
}

function names(overrides: Partial<ConstrainedNames>): ConstrainedNames {
  return {
    rfc822Names: [],
    emailAddresses: [],
    dnsNames: [],
    directoryNames: [],
    ipAddresses: [],
    ...overrides,
  };
}

describe('rfc822Name', () => {
  it('a host constraint covers every mailbox at exactly that host, in any case', () => {
    expect(rfc822Matches('good.test', 'a@good.test')).toBe(true);
    expect(rfc822Matches('good.test', 'A.B@GOOD.Test')).toBe(true);
    expect(rfc822Matches('GOOD.test', 'a@good.test')).toBe(true);
    expect(rfc822Matches('good.test', 'a@mail.good.test')).toBe(false);
    expect(rfc822Matches('good.test', 'a@evilgood.test')).toBe(false);
    expect(rfc822Matches('good.test', 'a@good.test.evil')).toBe(false);
  });

  it('.domain covers hosts below the domain, never the domain itself', () => {
    expect(rfc822Matches('.good.test', 'a@mail.good.test')).toBe(true);
    expect(rfc822Matches('.good.test', 'a@x.y.GOOD.TEST')).toBe(true);
    expect(rfc822Matches('.good.test', 'a@good.test')).toBe(false);
    expect(rfc822Matches('.good.test', 'a@evilgood.test')).toBe(false);
    expect(rfc822Matches('.good.test', 'a@.good.test')).toBe(false);
  });

  it('a mailbox constraint is that mailbox: the local part keeps its case, the host does not', () => {
    expect(rfc822Matches('Alice@good.test', 'Alice@GOOD.test')).toBe(true);
    expect(rfc822Matches('Alice@good.test', 'alice@good.test')).toBe(false);
    expect(rfc822Matches('Alice@good.test', 'Alice@mail.good.test')).toBe(false);
    expect(rfc822Matches('Alice@good.test', 'Bob@good.test')).toBe(false);
  });

  it('@host (not an RFC 5280 form) is every mailbox at the host, as OpenSSL reads it', () => {
    expect(rfc822Matches('@good.test', 'a@good.test')).toBe(true);
    expect(rfc822Matches('@good.test', 'Z@Good.Test')).toBe(true);
    expect(rfc822Matches('@good.test', 'a@mail.good.test')).toBe(false);
    // Excluded "@evil.test" therefore excludes, instead of matching nothing.
    const violations = checkNameConstraints(
      names({ rfc822Names: ['x@evil.test'] }),
      constraints(undefined, [email('@evil.test')]),
    );
    expect(violations).toEqual([
      { form: 'rfc822Name', name: 'x@evil.test', kind: 'excluded', subtrees: ['email:@evil.test'] },
    ]);
  });

  it('something that is not local@host matches no subtree', () => {
    expect(rfc822Matches('good.test', 'good.test')).toBe(false);
    expect(rfc822Matches('good.test', '@good.test')).toBe(false);
    expect(rfc822Matches('good.test', 'a@')).toBe(false);
    const violations = checkNameConstraints(
      names({ rfc822Names: ['good.test'] }),
      constraints([email('good.test')]),
    );
    expect(violations.map((v) => v.kind)).toEqual(['not-permitted']);
  });

  it('IDN hosts are compared as written (A-labels), never converted', () => {
    expect(rfc822Matches('.xn--bcher-kva.example', 'a@mail.XN--BCHER-KVA.example')).toBe(true);
    expect(rfc822Matches('.bücher.example', 'a@mail.xn--bcher-kva.example')).toBe(false);
    expect(rfc822Matches('xn--bcher-kva.example', 'a@bücher.example')).toBe(false);
  });

  it('a quoted local part with an @ inside is split at the last @', () => {
    expect(rfc822Matches('good.test', '"a@evil.test"@good.test')).toBe(true);
    expect(rfc822Matches('evil.test', '"a@evil.test"@good.test')).toBe(false);
  });
});

describe('dNSName', () => {
  it('covers the name and names with labels added on the left, not other suffixes', () => {
    expect(dnsMatches('good.test', 'good.test')).toBe(true);
    expect(dnsMatches('good.test', 'direct.good.test')).toBe(true);
    expect(dnsMatches('good.test', 'a.b.good.test')).toBe(true);
    expect(dnsMatches('good.test', 'evilgood.test')).toBe(false);
    expect(dnsMatches('good.test', 'good.test.evil')).toBe(false);
    expect(dnsMatches('direct.good.test', 'good.test')).toBe(false);
  });

  it('.example.com covers the names below it but not example.com', () => {
    expect(dnsMatches('.good.test', 'direct.good.test')).toBe(true);
    expect(dnsMatches('.good.test', 'good.test')).toBe(false);
    expect(dnsMatches('.good.test', 'evilgood.test')).toBe(false);
  });

  it('is case-insensitive for ASCII and ignores a trailing dot', () => {
    expect(dnsMatches('Good.TEST', 'DIRECT.good.test')).toBe(true);
    expect(dnsMatches('good.test.', 'direct.good.test')).toBe(true);
    expect(dnsMatches('good.test', 'direct.good.test.')).toBe(true);
    expect(asciiLower('ÜBER.Test')).toBe('Über.test');
  });

  it('IDNs as written: A-labels compare, Unicode is not converted', () => {
    expect(dnsMatches('xn--bcher-kva.example', 'direct.xn--bcher-kva.example')).toBe(true);
    expect(dnsMatches('xn--bcher-kva.example', 'bücher.example')).toBe(false);
    expect(dnsMatches('bücher.example', 'xn--bcher-kva.example')).toBe(false);
  });

  it('the empty constraint covers every name', () => {
    expect(dnsMatches('', 'anything.example')).toBe(true);
  });

  it('a wildcard name falls in an excluded subtree when a name it covers would', () => {
    expect(dnsWildcardOverlaps('www.good.test', '*.good.test')).toBe(true);
    expect(dnsWildcardOverlaps('good.test', '*.good.test')).toBe(true);
    expect(dnsWildcardOverlaps('test', '*.good.test')).toBe(true);
    expect(dnsWildcardOverlaps('.good.test', '*.good.test')).toBe(true);
    expect(dnsWildcardOverlaps('a.www.good.test', '*.good.test')).toBe(false);
    expect(dnsWildcardOverlaps('other.test', '*.good.test')).toBe(false);
    const violations = checkNameConstraints(
      names({ dnsNames: ['*.good.test'] }),
      constraints([dns('good.test')], [dns('secret.good.test')]),
    );
    expect(violations).toEqual([
      {
        form: 'dNSName',
        name: '*.good.test',
        kind: 'excluded',
        subtrees: ['DNS:secret.good.test'],
      },
    ]);
  });
});

describe('directoryName', () => {
  const base = directoryName([['C=US'], ['O=Good Org']]);

  it('the subject must begin with the constraint RDNs, compared case- and space-folded', () => {
    expect(
      directoryNameMatches(base.rdns, directoryName([['C=US'], ['O=Good Org'], ['CN=a']]).rdns),
    ).toBe(true);
    expect(
      directoryNameMatches(base.rdns, directoryName([['C=us'], ['O=good   org'], ['CN=a']]).rdns),
    ).toBe(true);
    expect(directoryNameMatches(base.rdns, base.rdns)).toBe(true);
    // Not a prefix: other order, other value, shorter.
    expect(
      directoryNameMatches(base.rdns, directoryName([['O=Good Org'], ['C=US'], ['CN=a']]).rdns),
    ).toBe(false);
    expect(
      directoryNameMatches(base.rdns, directoryName([['C=US'], ['O=Evil Org'], ['CN=a']]).rdns),
    ).toBe(false);
    expect(directoryNameMatches(base.rdns, directoryName([['C=US']]).rdns)).toBe(false);
  });

  it('a multi-valued RDN matches only the same set of attributes', () => {
    const multi = directoryName([['C=US'], ['O=Good Org', 'OU=Mail']]);
    expect(
      directoryNameMatches(
        multi.rdns,
        directoryName([['C=US'], ['OU=Mail', 'O=Good Org'], ['CN=a']]).rdns,
      ),
    ).toBe(true);
    expect(
      directoryNameMatches(multi.rdns, directoryName([['C=US'], ['O=Good Org'], ['CN=a']]).rdns),
    ).toBe(false);
  });

  it('is reported with its text', () => {
    const subject = directoryName([['C=US'], ['O=Evil Org'], ['CN=a']]);
    const violations = checkNameConstraints(
      names({ directoryNames: [subject] }),
      constraints([{ form: 'directoryName', name: base }]),
    );
    expect(violations).toEqual([
      {
        form: 'directoryName',
        name: 'CN=a,O=Evil Org,C=US',
        kind: 'not-permitted',
        subtrees: ['dirName:O=Good Org,C=US'],
      },
    ]);
  });
});

describe('iPAddress', () => {
  it('an address within the network and mask, per family', () => {
    const net = ip(10, 1, 0, 0, 255, 255, 0, 0).bytes;
    expect(ipAddressMatches(net, Uint8Array.of(10, 1, 200, 3))).toBe(true);
    expect(ipAddressMatches(net, Uint8Array.of(10, 2, 0, 1))).toBe(false);
    const v6 = Uint8Array.from([
      ...new Array<number>(16).fill(0),
      ...new Array<number>(16).fill(0),
    ]);
    v6[15] = 1;
    // An IPv4 address never matches an IPv6 constraint (mask ::/0 would cover all of IPv6).
    expect(ipAddressMatches(v6, Uint8Array.of(10, 1, 2, 3))).toBe(false);
    expect(ipAddressMatches(v6, new Uint8Array(16))).toBe(true);
    expect(describeSubtree(ip(10, 1, 0, 0, 255, 255, 0, 0))).toBe('IP:10.1.0.0/255.255.0.0');
  });
});

describe('checkNameConstraints', () => {
  it('excluded beats permitted', () => {
    const violations = checkNameConstraints(
      names({ rfc822Names: ['a@bad.good.test'], dnsNames: ['bad.good.test'] }),
      constraints(
        [email('.good.test'), dns('good.test')],
        [email('bad.good.test'), dns('bad.good.test')],
      ),
    );
    expect(violations.map((v) => [v.form, v.kind])).toEqual([
      ['rfc822Name', 'excluded'],
      ['dNSName', 'excluded'],
    ]);
  });

  it('permitted subtrees restrict only the forms they name', () => {
    const only = constraints([dns('good.test')]);
    expect(
      checkNameConstraints(
        names({ rfc822Names: ['a@anywhere.test'], dnsNames: ['good.test'] }),
        only,
      ),
    ).toEqual([]);
    expect(checkNameConstraints(names({ dnsNames: ['evil.test'] }), only)).toEqual([
      { form: 'dNSName', name: 'evil.test', kind: 'not-permitted', subtrees: ['DNS:good.test'] },
    ]);
  });

  it('the subject emailAddress is held to rfc822Name constraints', () => {
    const violations = checkNameConstraints(
      names({ rfc822Names: ['a@good.test'], emailAddresses: ['a@evil.test'] }),
      constraints([email('good.test')]),
    );
    expect(violations).toEqual([
      {
        form: 'rfc822Name',
        name: 'emailAddress a@evil.test',
        kind: 'not-permitted',
        subtrees: ['email:good.test'],
      },
    ]);
  });

  it('down a chain the permitted sets intersect: disjoint subtrees permit nothing of that form', () => {
    const upper = constraints([email('.good.test'), dns('good.test')]);
    const lower = constraints([email('.other.test')]);
    const check = (n: ConstrainedNames) =>
      [upper, lower].flatMap((c) => checkNameConstraints(n, c)).map((v) => v.name);
    expect(check(names({ rfc822Names: ['a@mail.good.test'] }))).toEqual(['a@mail.good.test']);
    expect(check(names({ rfc822Names: ['a@mail.other.test'] }))).toEqual(['a@mail.other.test']);
    // DNS names are constrained by the upper CA only.
    expect(check(names({ dnsNames: ['direct.good.test'] }))).toEqual([]);
    expect(check(names({ dnsNames: ['direct.other.test'] }))).toEqual(['direct.other.test']);
    // A narrower CA below keeps within the upper one.
    const narrower = constraints([email('mail.good.test')]);
    const both = (n: ConstrainedNames) =>
      [upper, narrower].flatMap((c) => checkNameConstraints(n, c)).map((v) => v.name);
    expect(both(names({ rfc822Names: ['a@mail.good.test'] }))).toEqual([]);
    expect(both(names({ rfc822Names: ['a@other.good.test'] }))).toEqual(['a@other.good.test']);
  });

  it('a name with no constraint of its form passes; no names, no violations', () => {
    expect(checkNameConstraints(names({}), constraints([email('good.test')], [dns('x')]))).toEqual(
      [],
    );
  });
});

describe('constraintRefusals', () => {
  it('a critical extension with a form Sealpost does not check is refused; not critical, ignored', () => {
    const uri: SubtreeBase = { form: 'other', label: 'uniformResourceIdentifier' };
    expect(constraintRefusals(constraints([uri, dns('good.test')]))).toEqual([
      'they constrain uniformResourceIdentifier names, a form Sealpost does not check, in a critical extension',
    ]);
    expect(constraintRefusals(constraints(undefined, [uri], false))).toEqual([]);
    expect(constraintRefusals(constraints([dns('good.test')]))).toEqual([]);
  });

  it('problems found while reading refuse whatever the criticality', () => {
    const bad: NameConstraints = {
      critical: false,
      permitted: [dns('good.test')],
      excluded: undefined,
      problems: ['a permitted dNSName subtree has a maximum (RFC 5280 forbids it)'],
    };
    expect(constraintRefusals(bad)).toEqual([
      'a permitted dNSName subtree has a maximum (RFC 5280 forbids it)',
    ]);
  });
});
