/**
 * Importing trust anchors by hand (DESIGN.md §4 "Trust"): what `sealpost anchors import` and
 * the mail window's `importAnchors` call share. The bytes may be PEM (one or many
 * certificates), one DER certificate, or a PKCS#7 .p7b bundle (signed bundles are read as
 * bundles: without a configured signer they are refused, naming their signer). Each
 * certificate is checked before it becomes an anchor: an expired or not-yet-valid
 * certificate, or a weak key, is refused with its reasons, never silently dropped.
 */
import { HispError, type Reason } from '../../api/errors.js';
import { createSilentLogger } from '../../log/logger.js';
import { readCertificates, type ParsedCertificate } from '../certificate.js';
import { validityReasons, weakKeyReason } from '../policy.js';
import { readTrustBundle } from './bundle.js';
import { ALL_DOMAINS, type TrustDirections, type TrustStore } from './store.js';

/**
 * Certificates from a PEM/DER certificate file or a PKCS#7 bundle file.
 * @throws HispError CERT_MALFORMED (neither), BUNDLE_* (a bundle that could not be used),
 * LIMIT_EXCEEDED.
 */
export async function readAnchorCertificates(bytes: Uint8Array): Promise<ParsedCertificate[]> {
  try {
    return readCertificates(bytes);
  } catch (certificateError) {
    try {
      const bundle = await readTrustBundle(bytes, { signers: [], logger: createSilentLogger() });
      return [...bundle.anchors];
    } catch (bundleError) {
      const looksLikeBundle =
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('PKCS7') ||
        (bundleError instanceof HispError && bundleError.code !== 'BUNDLE_MALFORMED');
      throw looksLikeBundle ? bundleError : certificateError;
    }
  }
}

/** Why a certificate may not be a trust anchor at `at` (empty: it may). */
export function anchorRefusals(cert: ParsedCertificate, at: Date): Reason[] {
  const weak = weakKeyReason(cert, 'Anchor');
  return [...validityReasons(cert, at, 'Anchor'), ...(weak === undefined ? [] : [weak])];
}

/** A certificate that was not imported, and why. */
export interface RefusedAnchor {
  readonly cert: ParsedCertificate;
  readonly reasons: readonly Reason[];
}

/** Certificates split into those that may be anchors and those refused with reasons. */
export function checkAnchors(
  certs: readonly ParsedCertificate[],
  at: Date,
): { usable: ParsedCertificate[]; refused: RefusedAnchor[] } {
  const usable: ParsedCertificate[] = [];
  const refused: RefusedAnchor[] = [];
  for (const cert of certs) {
    const reasons = anchorRefusals(cert, at);
    if (reasons.length > 0) refused.push({ cert, reasons });
    else usable.push(cert);
  }
  return { usable, refused };
}

export interface ImportAnchorsOptions {
  /** The local domain the anchors serve; default every local domain ('*'). */
  readonly domain?: string;
  /** Default both. */
  readonly direction?: TrustDirections;
  /** When validity is checked; default now. */
  readonly at?: Date;
}

export interface ImportedAnchors {
  /** Newly added. */
  readonly added: readonly ParsedCertificate[];
  /** Usable, but already anchors for that domain and direction. */
  readonly already: readonly ParsedCertificate[];
  readonly refused: readonly RefusedAnchor[];
}

/**
 * Reads `bytes` (PEM, DER or .p7b), refuses what may not be an anchor and adds the rest by
 * hand to `trust` (audited by the store as a 'trust-change'). A file in which nothing is
 * usable adds nothing and says why for each certificate.
 */
export async function importAnchors(
  trust: TrustStore,
  bytes: Uint8Array,
  options: ImportAnchorsOptions = {},
): Promise<ImportedAnchors> {
  const certs = await readAnchorCertificates(bytes);
  const { usable, refused } = checkAnchors(certs, options.at ?? new Date());
  if (usable.length === 0) return { added: [], already: [], refused };
  const { added } = trust.addAnchors(usable, {
    domain: options.domain ?? ALL_DOMAINS,
    direction: options.direction ?? 'both',
  });
  const fresh = new Set(added);
  return {
    added: usable.filter((cert) => fresh.has(cert.fingerprintSha256)),
    already: usable.filter((cert) => !fresh.has(cert.fingerprintSha256)),
    refused,
  };
}
