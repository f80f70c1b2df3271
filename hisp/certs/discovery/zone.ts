/**
 * Zone records for hosting a practice's own Direct certificates at its DNS provider: a CERT
 * record (RFC 4398, type PKIX) per certificate at the name DCDT discovery looks up — the
 * address with '@' turned into '.', or the domain for a domain-bound certificate — and the
 * MX record the practice's Direct domain needs.
 */
import { HispError } from '../../api/errors.js';
import type { ParsedCertificate } from '../certificate.js';

export interface ZoneOptions {
  /** Record TTL in seconds (default 3600). */
  readonly ttl?: number;
  /** Mail exchangers for the certificates' domains: host names, lowest preference first. */
  readonly mx?: readonly string[];
}

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function owner(name: string): string {
  const fqdn = `${name.replace(/\.$/, '')}.`;
  if (fqdn.length > 254) throw new HispError('BAD_REQUEST', `${name} is too long for a DNS name.`);
  return fqdn;
}

/** The names a certificate is published under: its SAN addresses (as DNS names) and DNS names. */
export function publicationNames(cert: ParsedCertificate): { name: string; domain: string }[] {
  const names: { name: string; domain: string }[] = [];
  for (const address of cert.rfc822Names) {
    const at = address.lastIndexOf('@');
    if (at <= 0) continue;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    names.push({ name: `${local}.${domain}`, domain });
  }
  for (const dnsName of cert.dnsNames) {
    if (dnsName.startsWith('*.')) continue; // wildcards never bind (policy.ts)
    names.push({ name: dnsName.toLowerCase(), domain: dnsName.toLowerCase() });
  }
  return names;
}

/** Zone-file lines (RFC 1035 master file syntax), one CERT per name per certificate, then MX. */
export function zoneRecords(
  certs: readonly ParsedCertificate[],
  options: ZoneOptions = {},
): string[] {
  const ttl = options.ttl ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2_147_483_647)
    throw new HispError('BAD_REQUEST', 'The TTL must be a whole number of seconds.');
  const lines: string[] = [];
  const domains = new Set<string>();
  for (const cert of certs) {
    const names = publicationNames(cert);
    if (names.length === 0) {
      throw new HispError(
        'CERT_ADDRESS_MISMATCH',
        `Certificate ${cert.subject} names no address or domain to publish it under.`,
      );
    }
    const data = cert.der.toString('base64').replace(/.{1,64}/g, (chunk) => `\n    ${chunk}`);
    for (const { name, domain } of names) {
      domains.add(domain);
      lines.push(
        `; ${cert.subject} (SHA-256 ${cert.fingerprintSha256.slice(0, 16)}…), valid to ${cert.notAfter.toISOString()}`,
      );
      lines.push(`${owner(name)} ${ttl} IN CERT PKIX 0 0 (${data} )`);
    }
  }
  for (const domain of domains) {
    (options.mx ?? []).forEach((host, index) => {
      if (
        !host
          .replace(/\.$/, '')
          .split('.')
          .every((label) => LABEL.test(label))
      ) {
        throw new HispError('BAD_REQUEST', `${host} is not a valid mail exchanger host name.`);
      }
      lines.push(`${owner(domain)} ${ttl} IN MX ${10 * (index + 1)} ${owner(host)}`);
    });
  }
  return lines;
}
