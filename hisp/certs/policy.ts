/**
 * Direct's certificate policy for one certificate (DESIGN.md §4): the certificate must bind
 * the Direct address (SAN rfc822Name, else SAN dNSName of the address's domain — never the
 * subject DN e-mail), be inside its validity, have an RSA key of at least 2048 bits, not be
 * signed with MD5 or SHA-1, and allow the use (key usage / extended key usage, where present).
 *
 * Pure: no I/O, no clock (the caller passes `at`). Path validation (issuer, trust,
 * revocation) is path.ts.
 */
import type { Reason } from '../api/errors.js';
import {
  describeCertificate,
  isWeakSignatureAlgorithm,
  normalizeDomain,
  type ParsedCertificate,
} from './certificate.js';

/** id-kp-emailProtection and anyExtendedKeyUsage (RFC 5280 §4.2.1.12). */
export const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
export const EKU_ANY = '2.5.29.37.0';

/** Smallest acceptable key sizes. */
export const MIN_RSA_BITS = 2048;
export const MIN_EC_BITS = 256;

export type Binding = 'address' | 'domain';

/**
 * How `cert` binds `address`: 'address' when a SAN rfc822Name is the address, else 'domain'
 * when a SAN dNSName is the address's domain, else undefined. The subject DN (e-mail or CN)
 * is never consulted.
 *
 * Comparison: the whole address is compared case-insensitively (as the Direct Java RI does
 * with equalsIgnoreCase), after trimming and IDNA-normalizing the domain. RFC 5321 allows a
 * case-sensitive local part, but no Direct HISP issues two addresses differing only in case,
 * and a case-sensitive compare would make "Alice@..." fail against a certificate for
 * "alice@...". Wildcard dNSNames never match. A bare domain (no "@") can only bind 'domain'.
 */
export function addressBinding(cert: ParsedCertificate, address: string): Binding | undefined {
  const parsed = splitAddress(address);
  if (parsed === undefined) return undefined;
  if (parsed.local !== undefined) {
    const wanted = `${parsed.local.toLowerCase()}@${parsed.domain}`;
    for (const name of cert.rfc822Names) {
      const candidate = splitAddress(name);
      if (candidate?.local === undefined) continue;
      if (`${candidate.local.toLowerCase()}@${candidate.domain}` === wanted) return 'address';
    }
  }
  for (const name of cert.dnsNames) {
    if (name.includes('*')) continue;
    if (normalizeDomain(name) === parsed.domain) return 'domain';
  }
  return undefined;
}

function splitAddress(address: string): { local?: string; domain: string } | undefined {
  const trimmed = address.trim();
  if (trimmed === '') return undefined;
  const at = trimmed.lastIndexOf('@');
  if (at === -1) {
    const domain = normalizeDomain(trimmed);
    return domain === undefined ? undefined : { domain };
  }
  const local = trimmed.slice(0, at);
  const domain = normalizeDomain(trimmed.slice(at + 1));
  if (local === '' || domain === undefined) return undefined;
  return { local, domain };
}

export interface DirectCertificateCheck {
  /** The Direct address the certificate must bind; omit to skip the binding check. */
  readonly address?: string;
  readonly usage: 'sign' | 'encrypt';
  readonly at: Date;
  /** Accept SHA-1 certificate signatures (legacy trust domains), reported as CERT_SHA1_SIGNATURE. */
  readonly allowSha1Signatures?: boolean;
}

/** Every way `cert` fails Direct's policy for this use (empty = acceptable). */
export function checkDirectCertificate(
  cert: ParsedCertificate,
  check: DirectCertificateCheck,
): Reason[] {
  const reasons: Reason[] = [];
  const who = describeCertificate(cert);

  if (check.address !== undefined && addressBinding(cert, check.address) === undefined) {
    const names = [
      ...cert.rfc822Names.map((n) => `rfc822Name ${n}`),
      ...cert.dnsNames.map((n) => `dNSName ${n}`),
    ];
    reasons.push({
      code: 'CERT_ADDRESS_MISMATCH',
      message: `Certificate ${who} does not bind ${check.address} or its domain: its subject alternative names are ${names.length === 0 ? 'absent' : names.join(', ')} (the subject DN e-mail is not used).`,
    });
  }

  reasons.push(...validityReasons(cert, check.at, 'Certificate'));

  const keyReason = weakKeyReason(cert, 'Certificate');
  if (keyReason !== undefined) reasons.push(keyReason);

  const signatureReason = weakSignatureReason(
    cert,
    'Certificate',
    check.allowSha1Signatures === true,
  );
  if (signatureReason !== undefined) reasons.push(signatureReason);

  if (cert.keyUsage !== undefined) {
    const ku = cert.keyUsage;
    if (check.usage === 'sign' && !ku.has('digitalSignature') && !ku.has('nonRepudiation')) {
      reasons.push({
        code: 'CERT_KEY_USAGE',
        message: `Certificate ${who} may not sign: its key usage (${listOf(ku)}) has neither digitalSignature nor nonRepudiation.`,
      });
    }
    if (check.usage === 'encrypt') {
      const needed = cert.publicKey.type === 'ec' ? 'keyAgreement' : 'keyEncipherment';
      if (!ku.has(needed)) {
        reasons.push({
          code: 'CERT_KEY_USAGE',
          message: `Certificate ${who} may not be encrypted to: its key usage (${listOf(ku)}) lacks ${needed}.`,
        });
      }
    }
  }

  if (cert.extKeyUsage !== undefined) {
    const eku = cert.extKeyUsage;
    if (!eku.includes(EKU_EMAIL_PROTECTION) && !eku.includes(EKU_ANY)) {
      reasons.push({
        code: 'CERT_KEY_USAGE',
        message: `Certificate ${who} is not for e-mail: its extended key usage (${eku.join(', ') || 'empty'}) has neither emailProtection (${EKU_EMAIL_PROTECTION}) nor anyExtendedKeyUsage.`,
      });
    }
  }
  return reasons;
}

function listOf(usages: ReadonlySet<string>): string {
  return usages.size === 0 ? 'empty' : [...usages].join(', ');
}

/** CERT_NOT_YET_VALID / CERT_EXPIRED at `at`, naming the certificate and both dates. */
export function validityReasons(cert: ParsedCertificate, at: Date, role: string): Reason[] {
  const who = describeCertificate(cert);
  const reasons: Reason[] = [];
  if (at.getTime() < cert.notBefore.getTime()) {
    reasons.push({
      code: 'CERT_NOT_YET_VALID',
      message: `${role} ${who} is not valid until ${cert.notBefore.toISOString()} (checked at ${at.toISOString()}).`,
    });
  }
  if (at.getTime() > cert.notAfter.getTime()) {
    reasons.push({
      code: 'CERT_EXPIRED',
      message: `${role} ${who} expired on ${cert.notAfter.toISOString()} (checked at ${at.toISOString()}).`,
    });
  }
  return reasons;
}

/**
 * CERT_WEAK_SIGNATURE when the issuer signed `cert` with MD2/MD4/MD5/SHA-1 — or, for SHA-1
 * when `allowSha1` is set, the non-blocking CERT_SHA1_SIGNATURE, so the acceptance stays
 * visible. The text is the same as path.ts gives for the leaf, so a caller merging both lists
 * can deduplicate.
 */
export function weakSignatureReason(
  cert: ParsedCertificate,
  role: string,
  allowSha1 = false,
): Reason | undefined {
  if (!isWeakSignatureAlgorithm(cert.signatureAlgorithm)) return undefined;
  if (allowSha1 && cert.signatureAlgorithm.hash === 'sha1') {
    return {
      code: 'CERT_SHA1_SIGNATURE',
      message: `${role} ${describeCertificate(cert)} is signed with ${cert.signatureAlgorithm.name} by "${cert.issuer}"; accepted because this HISP allows SHA-1 certificate signatures.`,
    };
  }
  return {
    code: 'CERT_WEAK_SIGNATURE',
    message: `${role} ${describeCertificate(cert)} is signed with ${cert.signatureAlgorithm.name} by "${cert.issuer}"; Direct requires SHA-256 or stronger.`,
  };
}

/** WEAK_KEY for RSA under 2048 bits, EC under 256 bits, or a key type Direct does not use. */
export function weakKeyReason(cert: ParsedCertificate, role: string): Reason | undefined {
  const who = describeCertificate(cert);
  const key = cert.publicKey;
  switch (key.type) {
    case 'rsa':
    case 'rsa-pss':
      if (key.bits >= MIN_RSA_BITS) return undefined;
      return {
        code: 'WEAK_KEY',
        message: `${role} ${who} has an RSA-${key.bits} key; Direct requires at least ${MIN_RSA_BITS} bits.`,
      };
    case 'ec':
      if (key.bits >= MIN_EC_BITS) return undefined;
      return {
        code: 'WEAK_KEY',
        message: `${role} ${who} has an EC key on ${key.curve ?? 'an unknown curve'}; Direct requires P-256 or stronger.`,
      };
    case 'ed25519':
      return undefined;
    case 'other':
      return {
        code: 'WEAK_KEY',
        message: `${role} ${who} has a key of a type Direct does not use (${keyTypeName(cert)}).`,
      };
  }
}

function keyTypeName(cert: ParsedCertificate): string {
  try {
    return cert.x509.publicKey.asymmetricKeyType ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
