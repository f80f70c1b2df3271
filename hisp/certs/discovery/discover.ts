/**
 * Finding a recipient's encryption certificate (DESIGN.md §4, the DCDT behaviour): DNS CERT
 * for the address then the domain; then, when DNS gave nothing usable, LDAP located by SRV.
 * Every candidate is checked — Direct policy for encryption (binding, validity, key, key
 * usage) and a path to a configured anchor with revocation — and either selected or rejected
 * with its reason. A DNS or LDAP answer is never trusted by itself (risks 2 and 9): only a
 * certificate that chains to an anchor is ever selected.
 */
import { createHash } from 'node:crypto';
import { HispError, type Reason } from '../../api/errors.js';
import type { Logger } from '../../log/logger.js';
import { parseCertificate, type ParsedCertificate } from '../certificate.js';
import type { AiaCache } from '../aia.js';
import type { CrlCache } from '../crl.js';
import type { Fetcher } from '../fetch.js';
import type { OcspCache } from '../ocsp.js';
import { validatePath } from '../path.js';
import { addressBinding, checkDirectCertificate } from '../policy.js';
import { discoverDns } from './dns.js';
import { discoverLdap } from './ldap.js';
import type { DiscoveryCache } from './cache.js';
import type { CertificateEventMonitor } from './monitor.js';

export interface DiscoveryOptions {
  /** DNS servers for CERT and SRV lookups. */
  readonly dnsServers: readonly { readonly host: string; readonly port: number }[];
  readonly anchors: readonly ParsedCertificate[];
  readonly revocation: 'hard' | 'soft' | 'off';
  readonly logger: Logger;
  /** For IPKIX, AIA and revocation; absent = offline. */
  readonly fetcher?: Fetcher;
  readonly crlCache?: CrlCache;
  readonly ocspCache?: OcspCache;
  readonly aiaCache?: AiaCache;
  readonly at?: Date;
  readonly allowSha1CertificateSignatures?: boolean;
  /** Per DNS attempt (CERT, and the SRV and host lookups for LDAP), in milliseconds. */
  readonly dnsTimeoutMs?: number;
  /** Counts rejected certificates per domain and raises alerts (risks 10 and 11). */
  readonly monitor?: CertificateEventMonitor;
  /** Results kept by DNS TTL, with negative caching. */
  readonly cache?: DiscoveryCache;
}

export type DiscoverySource = 'dns' | 'ldap';

export interface SelectedCertificate {
  readonly cert: ParsedCertificate;
  readonly source: DiscoverySource;
  readonly bound: 'address' | 'domain';
  readonly anchor: ParsedCertificate | undefined;
  /** The validated path: this certificate first, the anchor last (intermediates from AIA
   * caIssuers included). */
  readonly chain: readonly ParsedCertificate[];
  /** Advisory reasons kept with a usable certificate (soft-fail revocation, accepted SHA-1). */
  readonly notes: readonly Reason[];
}

export interface RejectedCertificate {
  readonly fingerprintSha256: string;
  readonly source: DiscoverySource;
  /** The first blocking reason; `reasons` has all of them. */
  readonly reason: Reason;
  readonly reasons: readonly Reason[];
}

export interface DiscoveryResult {
  readonly address: string;
  /** Usable certificates, address-bound before domain-bound. */
  readonly selected: readonly SelectedCertificate[];
  readonly rejected: readonly RejectedCertificate[];
  /** What went wrong while looking (a DNS server down, a bad record, LDAP unreachable). */
  readonly problems: readonly Reason[];
}

interface Found {
  readonly der: Buffer;
  readonly source: DiscoverySource;
}

export async function discoverCertificates(
  address: string,
  options: DiscoveryOptions,
): Promise<DiscoveryResult> {
  const cached = options.cache?.get(address);
  if (cached !== undefined) return cached;
  const logger = options.logger.child({ component: 'discovery' });
  const problems: Reason[] = [];
  /** The shortest TTL of the DNS records whose certificates were selected. */
  let ttl: number | undefined;
  const ttlOf = new Map<string, number>();
  const selected: SelectedCertificate[] = [];
  const rejected: RejectedCertificate[] = [];
  const seen = new Set<string>();

  const evaluate = async (found: readonly Found[]): Promise<void> => {
    for (const candidate of found) {
      const fingerprint = createHash('sha256').update(candidate.der).digest('hex');
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      const outcome = await judge(candidate, address, options);
      if ('reason' in outcome) {
        rejected.push({
          fingerprintSha256: fingerprint,
          source: candidate.source,
          reason: outcome.reason,
          reasons: outcome.reasons,
        });
        // The monitoring signal for risks 10 and 11: invalid certificates are rare, so many of
        // them for a domain deserve a look.
        options.monitor?.record({
          domain: address.slice(address.lastIndexOf('@') + 1),
          code: outcome.reason.code,
          fingerprintSha256: fingerprint,
          source: candidate.source,
        });
        logger.warn('discovered certificate rejected', {
          fingerprint,
          source: candidate.source,
          code: outcome.reason.code,
          recipientDomain: address.split('@')[1],
        });
      } else {
        selected.push(outcome);
      }
    }
  };

  try {
    const dns = await discoverDns(address, {
      resolver: {
        servers: options.dnsServers,
        ...(options.dnsTimeoutMs ? { timeoutMs: options.dnsTimeoutMs } : {}),
      },
      logger,
      ...(options.fetcher ? { fetcher: options.fetcher } : {}),
    });
    problems.push(...dns.problems);
    for (const c of dns.candidates) {
      const fingerprint = createHash('sha256').update(c.der).digest('hex');
      ttlOf.set(fingerprint, Math.min(ttlOf.get(fingerprint) ?? c.ttl, c.ttl));
    }
    await evaluate(dns.candidates.map((c) => ({ der: c.der, source: 'dns' as const })));
  } catch (error) {
    problems.push(asReason(error));
  }

  if (selected.length === 0) {
    try {
      const ldap = await discoverLdap(address, {
        dnsServers: options.dnsServers,
        logger,
        ...(options.dnsTimeoutMs ? { dnsTimeoutMs: options.dnsTimeoutMs } : {}),
      });
      problems.push(...ldap.problems);
      await evaluate(ldap.candidates.map((c) => ({ der: c.der, source: 'ldap' as const })));
    } catch (error) {
      problems.push(asReason(error));
    }
  }

  selected.sort((a, b) => (a.bound === b.bound ? 0 : a.bound === 'address' ? -1 : 1));
  for (const s of selected) {
    const recordTtl = ttlOf.get(s.cert.fingerprintSha256);
    if (s.source === 'dns' && recordTtl !== undefined) ttl = Math.min(ttl ?? recordTtl, recordTtl);
  }
  const result: DiscoveryResult = { address, selected, rejected, problems };
  // A lookup that failed (servers down) is not cached: the next attempt should ask again.
  const failed = problems.some((p) => p.code === 'DNS_FAILED' || p.code === 'LDAP_FAILED');
  if (!failed || selected.length > 0) options.cache?.set(address, result, ttl);
  return result;
}

function asReason(error: unknown): Reason {
  const hispError = HispError.from(error);
  return { code: hispError.code, message: hispError.message };
}

const ADVISORY = (r: Reason, revocation: DiscoveryOptions['revocation']): boolean =>
  r.code === 'CERT_SHA1_SIGNATURE' || (r.code === 'REVOCATION_UNKNOWN' && revocation !== 'hard');

async function judge(
  candidate: Found,
  address: string,
  options: DiscoveryOptions,
): Promise<SelectedCertificate | { reason: Reason; reasons: Reason[] }> {
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(candidate.der);
  } catch (error) {
    const reason = asReason(error);
    return { reason, reasons: [reason] };
  }
  const at = options.at ?? new Date();
  const bound = addressBinding(cert, address);
  const reasons: Reason[] = checkDirectCertificate(cert, {
    address,
    usage: 'encrypt',
    at,
    allowSha1Signatures: options.allowSha1CertificateSignatures === true,
  });
  const path = await validatePath(cert, {
    anchors: options.anchors,
    at,
    revocation: options.revocation,
    allowSha1Signatures: options.allowSha1CertificateSignatures === true,
    logger: options.logger,
    ...(options.fetcher ? { fetcher: options.fetcher } : {}),
    ...(options.crlCache ? { crlCache: options.crlCache } : {}),
    ...(options.ocspCache ? { ocspCache: options.ocspCache } : {}),
    ...(options.aiaCache ? { aiaCache: options.aiaCache } : {}),
  });
  for (const r of path.reasons) {
    if (!reasons.some((known) => known.code === r.code && known.message === r.message))
      reasons.push(r);
  }
  const blocking = reasons.filter((r) => !ADVISORY(r, options.revocation));
  const [first] = blocking;
  if (first !== undefined || bound === undefined || !path.trusted) {
    const reason = first ?? {
      code: 'CERT_UNTRUSTED' as const,
      message: 'The certificate does not chain to a configured anchor.',
    };
    return { reason, reasons: blocking.length > 0 ? blocking : [reason] };
  }
  return {
    cert,
    source: candidate.source,
    bound,
    anchor: path.anchor,
    chain: path.chain,
    notes: reasons,
  };
}
