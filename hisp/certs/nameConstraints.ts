/**
 * Name constraints (RFC 5280 §4.2.1.10, applied in path validation as §6.1.3 (b)/(c) and
 * §6.1.4 (g) describe): the matching rules for the name forms Sealpost checks, as pure
 * functions over already-parsed names. certificate.ts reads the extension, path.ts applies
 * it to every certificate below the CA that carries it.
 *
 * ```asn
 * NameConstraints ::= SEQUENCE {
 *   permittedSubtrees [0] GeneralSubtrees OPTIONAL,
 *   excludedSubtrees  [1] GeneralSubtrees OPTIONAL }
 * GeneralSubtrees ::= SEQUENCE SIZE (1..MAX) OF GeneralSubtree
 * GeneralSubtree ::= SEQUENCE {
 *   base    GeneralName,
 *   minimum [0] BaseDistance DEFAULT 0,
 *   maximum [1] BaseDistance OPTIONAL }
 * ```
 *
 * Forms checked:
 * - rfc822Name: `user@host` is that one mailbox (local part compared exactly, host without
 *   regard to case), `host` is every mailbox at exactly that host, `.domain` every mailbox at
 *   a host below the domain (not at the domain itself). `@host`, which RFC 5280 does not
 *   define, is read as OpenSSL reads it: every mailbox at the host. Applied to the SAN
 *   rfc822Names and to the emailAddress attributes of the subject DN.
 * - dNSName: the name itself and every name made by adding labels on the left
 *   (`example.com` covers `www.example.com`, not `wwwexample.com`); a leading dot
 *   (`.example.com`, a common extension of the rule) covers the names below only; the empty
 *   constraint covers every name. A `*.d` wildcard name falls in an excluded subtree when any
 *   name it covers would.
 * - directoryName: the subject DN (when not empty) and SAN directoryNames begin with the
 *   constraint's RDNs, compared as RFC 5280 §7.1 says (case- and space-folded).
 * - iPAddress: the SAN address within the constraint's address and mask (IPv4 8 octets,
 *   IPv6 32); an IPv4 address never matches an IPv6 constraint and the other way round.
 *
 * Domain parts are compared as ASCII without regard to case; IDNs are compared as written
 * (their `xn--` A-labels), never converted. Excluded subtrees are checked first and win over
 * permitted ones. A CA's permitted subtrees restrict only the forms they name; within a form,
 * the constraints of every CA above a certificate apply together, so the permitted set is the
 * intersection down the chain (two CAs permitting disjoint subtrees of a form permit nothing
 * of that form).
 */

/** The RDNs of a Name, most significant first, each as its sorted, folded `type=value` keys. */
export type RdnKeys = readonly (readonly string[])[];

/** A directoryName: its text (RFC 4514) and its comparison keys. */
export interface DirectoryName {
  readonly text: string;
  readonly rdns: RdnKeys;
}

/** The base of one GeneralSubtree. `other` is a form Sealpost does not check. */
export type SubtreeBase =
  | { readonly form: 'rfc822Name'; readonly value: string }
  | { readonly form: 'dNSName'; readonly value: string }
  | { readonly form: 'directoryName'; readonly name: DirectoryName }
  /** Address followed by mask: 8 octets (IPv4) or 32 (IPv6). */
  | { readonly form: 'iPAddress'; readonly bytes: Uint8Array }
  | { readonly form: 'other'; readonly label: string };

/** A parsed nameConstraints extension. */
export interface NameConstraints {
  readonly critical: boolean;
  /** undefined: no permittedSubtrees field. */
  readonly permitted: readonly SubtreeBase[] | undefined;
  readonly excluded: readonly SubtreeBase[] | undefined;
  /** What makes the extension unusable whatever its criticality (minimum/maximum, a bad
   * iPAddress length). */
  readonly problems: readonly string[];
}

/** The names of one certificate that name constraints apply to. */
export interface ConstrainedNames {
  /** SAN rfc822Names. */
  readonly rfc822Names: readonly string[];
  /** emailAddress attributes of the subject DN (RFC 5280: rfc822Name constraints apply). */
  readonly emailAddresses: readonly string[];
  readonly dnsNames: readonly string[];
  /** The subject DN (when not empty) and SAN directoryNames. */
  readonly directoryNames: readonly DirectoryName[];
  /** SAN iPAddresses (4 or 16 octets). */
  readonly ipAddresses: readonly Uint8Array[];
}

export type ConstrainedForm = 'rfc822Name' | 'dNSName' | 'directoryName' | 'iPAddress';

/** One name outside what a CA's constraints allow. */
export interface NameViolation {
  readonly form: ConstrainedForm;
  /** The name as shown, e.g. `a@evil.test`, `emailAddress a@evil.test`. */
  readonly name: string;
  /** excluded: it is in an excluded subtree; not-permitted: in none of the permitted ones. */
  readonly kind: 'excluded' | 'not-permitted';
  /** The excluded subtree it is in, or the permitted subtrees of its form. */
  readonly subtrees: readonly string[];
}

/** Lowercase for ASCII letters only (domain labels are compared as ASCII, IDNs as A-labels). */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function withoutTrailingDot(domain: string): string {
  return domain.endsWith('.') ? domain.slice(0, -1) : domain;
}

/**
 * Whether `address` (local@host) is within the rfc822Name constraint `constraint`: a mailbox
 * (`local@host`), a host (`host`), or the hosts below a domain (`.domain`). The empty
 * constraint covers every address. An address without a local part and a host matches
 * nothing.
 */
export function rfc822Matches(constraint: string, address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return false;
  const local = address.slice(0, at);
  const host = withoutTrailingDot(asciiLower(address.slice(at + 1)));
  if (constraint === '') return true;
  const constraintAt = constraint.lastIndexOf('@');
  if (constraintAt === 0) {
    // "@host" is not an RFC 5280 form; read as OpenSSL does (every mailbox at the host), so an
    // excluded "@host" excludes instead of matching nothing.
    return withoutTrailingDot(asciiLower(constraint.slice(1))) === host;
  }
  if (constraintAt !== -1) {
    return (
      constraint.slice(0, constraintAt) === local &&
      withoutTrailingDot(asciiLower(constraint.slice(constraintAt + 1))) === host
    );
  }
  const base = withoutTrailingDot(asciiLower(constraint));
  if (base.startsWith('.')) return host.length > base.length && host.endsWith(base);
  return host === base;
}

/**
 * Whether the DNS name `name` is within the dNSName constraint `constraint`: the name itself
 * or one with labels added on the left; with a leading dot, only names below it. The empty
 * constraint covers every name.
 */
export function dnsMatches(constraint: string, name: string): boolean {
  const base = withoutTrailingDot(asciiLower(constraint));
  const host = withoutTrailingDot(asciiLower(name));
  if (base === '' || base === '.') return true;
  if (base.startsWith('.')) return host.length > base.length && host.endsWith(base);
  return host === base || host.endsWith(`.${base}`);
}

/**
 * Whether some name the wildcard `*.domain` covers (one label in place of the `*`) is within
 * `constraint`: what an excluded subtree must be checked against.
 */
export function dnsWildcardOverlaps(constraint: string, wildcard: string): boolean {
  const lower = withoutTrailingDot(asciiLower(wildcard));
  if (!lower.startsWith('*.')) return dnsMatches(constraint, lower);
  const domain = lower.slice(2);
  const base = withoutTrailingDot(asciiLower(constraint));
  if (base === '' || base === '.') return true;
  if (base.startsWith('.')) {
    // L.domain is strictly below base: domain is base itself or below it.
    const parent = base.slice(1);
    return domain === parent || domain.endsWith(base);
  }
  // L.domain is base or below it: base is one label under domain, or domain is within base.
  if (dnsMatches(base, domain)) return true;
  const firstDot = base.indexOf('.');
  return firstDot > 0 && base.slice(firstDot + 1) === domain;
}

/** Whether `name` begins with the RDNs of `constraint` (RFC 5280 §7.1 comparison). */
export function directoryNameMatches(constraint: RdnKeys, name: RdnKeys): boolean {
  if (constraint.length > name.length) return false;
  return constraint.every((rdn, i) => {
    const other = name[i];
    return (
      other !== undefined && other.length === rdn.length && rdn.every((k, j) => other[j] === k)
    );
  });
}

/** Whether the address (4 or 16 octets) is within the constraint (address and mask). */
export function ipAddressMatches(constraint: Uint8Array, address: Uint8Array): boolean {
  if (address.length !== 4 && address.length !== 16) return false;
  if (constraint.length !== address.length * 2) return false;
  for (let i = 0; i < address.length; i++) {
    const mask = constraint[address.length + i] ?? 0;
    if (((address[i] ?? 0) & mask) !== ((constraint[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** An iPAddress as text: dotted IPv4, or IPv6 groups. */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) {
      groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
    }
    return groups.join(':');
  }
  return `#${Buffer.from(bytes).toString('hex')}`;
}

/** A subtree as shown in messages, in OpenSSL's config spelling (`email:.good.test`). */
export function describeSubtree(base: SubtreeBase): string {
  switch (base.form) {
    case 'rfc822Name':
      return `email:${base.value}`;
    case 'dNSName':
      return `DNS:${base.value}`;
    case 'directoryName':
      return `dirName:${base.name.text}`;
    case 'iPAddress': {
      const half = base.bytes.length / 2;
      return Number.isInteger(half) && (half === 4 || half === 16)
        ? `IP:${formatIpAddress(base.bytes.subarray(0, half))}/${formatIpAddress(base.bytes.subarray(half))}`
        : `IP:#${Buffer.from(base.bytes).toString('hex')}`;
    }
    case 'other':
      return base.label;
  }
}

/**
 * Why these constraints cannot be applied at all (the path must then be refused): minimum or
 * maximum fields and malformed iPAddress subtrees always; name forms Sealpost does not check
 * when the extension is critical. A non-critical extension's unchecked forms are ignored (no
 * name Sealpost reads is of those forms).
 */
export function constraintRefusals(constraints: NameConstraints): string[] {
  const refusals = [...constraints.problems];
  if (constraints.critical) {
    const other = new Set<string>();
    for (const base of [...(constraints.permitted ?? []), ...(constraints.excluded ?? [])]) {
      if (base.form === 'other') other.add(base.label);
    }
    if (other.size > 0) {
      refusals.push(
        `they constrain ${[...other].join(', ')} names, a form Sealpost does not check, in a critical extension`,
      );
    }
  }
  return refusals;
}

interface Candidate {
  readonly form: ConstrainedForm;
  readonly shown: string;
  readonly matches: (base: SubtreeBase) => boolean;
  /** For excluded subtrees (a wildcard covers more than itself). */
  readonly overlaps: (base: SubtreeBase) => boolean;
}

function candidates(names: ConstrainedNames): Candidate[] {
  const out: Candidate[] = [];
  const email = (address: string, shown: string) => {
    const matches = (base: SubtreeBase) =>
      base.form === 'rfc822Name' && rfc822Matches(base.value, address);
    out.push({ form: 'rfc822Name', shown, matches, overlaps: matches });
  };
  for (const address of names.rfc822Names) email(address, address);
  for (const address of names.emailAddresses) email(address, `emailAddress ${address}`);
  for (const name of names.dnsNames) {
    out.push({
      form: 'dNSName',
      shown: name,
      matches: (base) => base.form === 'dNSName' && dnsMatches(base.value, name),
      overlaps: (base) => base.form === 'dNSName' && dnsWildcardOverlaps(base.value, name),
    });
  }
  for (const name of names.directoryNames) {
    const matches = (base: SubtreeBase) =>
      base.form === 'directoryName' && directoryNameMatches(base.name.rdns, name.rdns);
    out.push({ form: 'directoryName', shown: name.text, matches, overlaps: matches });
  }
  for (const address of names.ipAddresses) {
    const matches = (base: SubtreeBase) =>
      base.form === 'iPAddress' && ipAddressMatches(base.bytes, address);
    out.push({ form: 'iPAddress', shown: formatIpAddress(address), matches, overlaps: matches });
  }
  return out;
}

/**
 * The names in `names` that one CA's constraints do not allow: in an excluded subtree
 * (checked first), or — when the CA permits subtrees of the name's form — in none of them.
 * An rfc822 name that is not an address (no `local@host`) matches no subtree.
 */
export function checkNameConstraints(
  names: ConstrainedNames,
  constraints: NameConstraints,
): NameViolation[] {
  const violations: NameViolation[] = [];
  for (const candidate of candidates(names)) {
    const excluded = (constraints.excluded ?? []).find(candidate.overlaps);
    if (excluded !== undefined) {
      violations.push({
        form: candidate.form,
        name: candidate.shown,
        kind: 'excluded',
        subtrees: [describeSubtree(excluded)],
      });
      continue;
    }
    const permitted = (constraints.permitted ?? []).filter((b) => b.form === candidate.form);
    if (permitted.length > 0 && !permitted.some(candidate.matches)) {
      violations.push({
        form: candidate.form,
        name: candidate.shown,
        kind: 'not-permitted',
        subtrees: permitted.map(describeSubtree),
      });
    }
  }
  return violations;
}
