/**
 * Certificate path validation for Direct (RFC 5280 §6, written here because pkijs's
 * validation checks no key usage, fetches no CRLs and accepts a revoked signer when no CRL
 * is given — DESIGN.md §6).
 *
 * 1. Build candidate paths from the leaf to a configured anchor: an issuer is a certificate
 *    whose subject name is the child's issuer name (AKI/SKI order the candidates) AND whose
 *    key verifies the child's signature (node:crypto). A same-name anchor with another key
 *    never anchors a path (risk-9: a certificate from spoofed DNS that does not chain to a
 *    configured anchor is untrusted). Missing intermediates come from the child's AIA
 *    caIssuers (DER, PEM or PKCS#7) through the fetcher. Depth is bounded by
 *    AGENT_LIMITS.chainLength and a certificate never appears twice in a path.
 * 2. Check every certificate of the path: validity at `at`; for intermediates cA=true,
 *    keyCertSign (where a key usage exists) and pathLenConstraint; MD5/SHA-1 signatures and
 *    RSA keys under 2048 bits (the anchor's key included; its self-signature is not checked);
 *    name constraints of every CA (the anchor's too) on every certificate below it
 *    (nameConstraints.ts; CERT_NAME_CONSTRAINTS).
 * 3. Revocation of every non-anchor certificate: the caller's CRLs, then the CRL cache, then
 *    OCSP (the OCSP cache, then the AIA OCSP responders), then the CRL distribution points;
 *    the first definite good/revoked answer wins. revoked always fails; unknown fails under
 *    'hard' and is reported under 'soft' (risk-12: explicit and visible either way). An OCSP
 *    answer signed by a delegated responder without id-pkix-ocsp-nocheck needs that responder
 *    checked too (against CRLs only): revoked, the answer is not used; unknown, it is a
 *    REVOCATION_UNKNOWN of its own.
 *
 * Every problem is reported (deduplicated), each naming the certificate and the check: these
 * reasons and the warn log line are the monitoring signal for risks 10 and 11.
 */
import { AGENT_LIMITS } from '../agent/limits.js';
import { HispError, type Reason } from '../api/errors.js';
import type { Logger } from '../log/logger.js';
import {
  describeCertificate,
  namesChain,
  readCertificates,
  type ParsedCertificate,
} from './certificate.js';
import { checkCrl, readCrl, type CrlCache, type CrlVerdict, type ParsedCrl } from './crl.js';
import type { Fetcher } from './fetch.js';
import {
  OCSP_LIMITS,
  delegatedResponder,
  queryOcsp,
  type OcspAnswer,
  type OcspCache,
} from './ocsp.js';
import {
  checkNameConstraints,
  constraintRefusals,
  type ConstrainedNames,
  type NameViolation,
} from './nameConstraints.js';
import { validityReasons, weakKeyReason, weakSignatureReason } from './policy.js';
import type { AiaCache } from './aia.js';

export interface PathOptions {
  readonly anchors: readonly ParsedCertificate[];
  /** Candidate intermediates, e.g. the certificates carried in the message. */
  readonly intermediates?: readonly ParsedCertificate[];
  /** Validation time. Default: now. */
  readonly at?: Date;
  /** hard: unknown status fails trust; soft: unknown is reported but trust stands; off: not checked. */
  readonly revocation: 'hard' | 'soft' | 'off';
  /** For AIA caIssuers and CRLs; absent = offline. */
  readonly fetcher?: Fetcher;
  readonly crlCache?: CrlCache;
  /** caIssuers answers (and failures) kept across validations. */
  readonly aiaCache?: AiaCache;
  /** OCSP answers until their nextUpdate, and responder failures for a short time. */
  readonly ocspCache?: OcspCache;
  /** CRLs from the caller (e.g. CLI --crl), DER or PEM, used before the cache and the network. */
  readonly crls?: readonly Uint8Array[];
  /** Accept SHA-1 certificate signatures (legacy trust domains); reported as CERT_SHA1_SIGNATURE. */
  readonly allowSha1Signatures?: boolean;
  readonly logger: Logger;
}

export type RevocationStatus = 'good' | 'revoked' | 'unknown' | 'not-checked';

export interface RevocationEntry {
  readonly subject: string;
  readonly fingerprintSha256: string;
  readonly status: RevocationStatus;
  /** Where the answer came from (a URL, "given CRL", "cache: URL"), or why there is none. */
  readonly source?: string;
  /** The delegated OCSP responder whose answer was used, and its own status: not-checked when
   * it carries id-pkix-ocsp-nocheck, otherwise from CRLs (RFC 6960 §4.2.2.2.1). */
  readonly responder?: RevocationEntry;
}

export interface PathResult {
  readonly trusted: boolean;
  /** Leaf first, anchor last (when one was reached); otherwise the longest partial path. */
  readonly chain: readonly ParsedCertificate[];
  readonly anchor: ParsedCertificate | undefined;
  /** Every problem found, including soft-fail REVOCATION_UNKNOWN (trusted stays true then). */
  readonly reasons: readonly Reason[];
  readonly revocation: readonly RevocationEntry[];
}

/** Bounds of one validation (risk-16/risk-12: a hostile chain or server cannot make it loop). */
export const PATH_LIMITS = {
  /** Complete paths to an anchor collected before choosing one. */
  candidatePaths: 16,
  /** Signature verifications in one path search. */
  signatureChecks: 256,
  /** AIA caIssuers URLs fetched in one validation. */
  aiaFetches: 8,
  /** Certificates taken from one caIssuers answer. */
  certificatesPerAiaAnswer: AGENT_LIMITS.certificatesInMessage,
  /** CRL distribution points fetched in one validation. */
  crlFetches: 16,
  /** OCSP responders asked in one validation. */
  ocspQueries: 16,
  /** Complete paths tried for revocation before settling for the best one. */
  revocationAttempts: 3,
  /** Longest URL quoted in a reason. */
  urlInMessage: 200,
} as const;

type DeadEnd =
  'incomplete' | 'untrusted-root' | 'anchor-key-mismatch' | 'bad-signature' | 'too-long';

interface DeadPath {
  readonly chain: readonly ParsedCertificate[];
  readonly kind: DeadEnd;
  readonly reason: Reason;
}

interface Complete {
  readonly chain: readonly ParsedCertificate[];
  readonly anchor: ParsedCertificate;
}

function shortUrl(url: string): string {
  return url.length > PATH_LIMITS.urlInMessage ? `${url.slice(0, PATH_LIMITS.urlInMessage)}…` : url;
}

function errorMessage(error: unknown): string {
  if (error instanceof HispError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

export async function validatePath(
  leaf: ParsedCertificate,
  options: PathOptions,
): Promise<PathResult> {
  const validation = new Validation(leaf, options);
  return validation.run();
}

class Validation {
  readonly #leaf: ParsedCertificate;
  readonly #options: PathOptions;
  readonly #at: Date;
  readonly #logger: Logger;
  readonly #anchorsByFingerprint = new Map<string, ParsedCertificate>();
  readonly #pool = new Map<string, ParsedCertificate>();
  readonly #verifyMemo = new Map<string, boolean>();
  readonly #aiaErrors = new Map<string, string>();
  readonly #aiaFetched = new Set<string>();
  readonly #complete: Complete[] = [];
  readonly #partial: DeadPath[] = [];
  readonly #limitReasons: Reason[] = [];
  readonly #crlsByUrl = new Map<string, ParsedCrl | string>();
  #givenCrls: { crl?: ParsedCrl; error?: string }[] | undefined;
  readonly #ocspByUrl = new Map<string, OcspAnswer>();
  readonly #responders = new Map<string, Promise<RevocationEntry>>();
  #signatureChecks = 0;
  #crlFetches = 0;
  #ocspQueries = 0;

  constructor(leaf: ParsedCertificate, options: PathOptions) {
    this.#leaf = leaf;
    this.#options = options;
    this.#at = options.at ?? new Date();
    this.#logger = options.logger.child({ component: 'certs.path' });
    for (const anchor of options.anchors) {
      this.#anchorsByFingerprint.set(anchor.fingerprintSha256, anchor);
    }
    for (const cert of options.intermediates ?? []) this.#pool.set(cert.fingerprintSha256, cert);
  }

  async run(): Promise<PathResult> {
    await this.#extend([this.#leaf]);
    const result = this.#complete.length > 0 ? await this.#decideComplete() : this.#decidePartial();
    this.#log(result);
    return result;
  }

  // ── Path building ────────────────────────────────────────────────────────────────────
  #verifies(child: ParsedCertificate, issuer: ParsedCertificate): boolean {
    const key = `${child.fingerprintSha256}/${issuer.fingerprintSha256}`;
    const known = this.#verifyMemo.get(key);
    if (known !== undefined) return known;
    if (this.#signatureChecks >= PATH_LIMITS.signatureChecks) {
      this.#limit(
        `The path search for ${describeCertificate(this.#leaf)} stopped after ${PATH_LIMITS.signatureChecks} signature checks.`,
      );
      return false;
    }
    this.#signatureChecks++;
    let ok: boolean;
    try {
      ok = child.x509.verify(issuer.x509.publicKey);
    } catch {
      ok = false;
    }
    this.#verifyMemo.set(key, ok);
    return ok;
  }

  #limit(message: string): void {
    if (!this.#limitReasons.some((r) => r.message === message)) {
      this.#limitReasons.push({ code: 'LIMIT_EXCEEDED', message });
    }
  }

  #issuerCandidates(
    cert: ParsedCertificate,
    chain: readonly ParsedCertificate[],
  ): ParsedCertificate[] {
    const inChain = new Set(chain.map((c) => c.fingerprintSha256));
    const candidates = [...this.#pool.values()].filter(
      (candidate) => !inChain.has(candidate.fingerprintSha256) && namesChain(cert, candidate),
    );
    // AKI/SKI: candidates whose key id matches first, then those without one, then others.
    const rank = (candidate: ParsedCertificate) => {
      if (cert.authorityKeyId === undefined || candidate.subjectKeyId === undefined) return 1;
      return candidate.subjectKeyId === cert.authorityKeyId ? 0 : 2;
    };
    return candidates.sort((a, b) => rank(a) - rank(b));
  }

  async #extend(chain: readonly ParsedCertificate[]): Promise<void> {
    if (this.#complete.length >= PATH_LIMITS.candidatePaths) return;
    const cert = chain[chain.length - 1];
    if (cert === undefined) return;

    // The certificate is itself an anchor (same bytes).
    const itself = this.#anchorsByFingerprint.get(cert.fingerprintSha256);
    if (itself !== undefined) {
      this.#complete.push({ chain, anchor: itself });
      return;
    }

    // An anchor issued it: same name AND its key verifies the signature.
    const sameNameAnchors: ParsedCertificate[] = [];
    let anchored = false;
    for (const anchor of this.#anchorsByFingerprint.values()) {
      if (!namesChain(cert, anchor)) continue;
      if (this.#verifies(cert, anchor)) {
        this.#complete.push({ chain: [...chain, anchor], anchor });
        anchored = true;
      } else {
        sameNameAnchors.push(anchor);
      }
    }
    if (anchored) return;

    const who = describeCertificate(cert);
    if (chain.length + 2 > AGENT_LIMITS.chainLength) {
      this.#partial.push({
        chain,
        kind: 'too-long',
        reason: {
          code: 'LIMIT_EXCEEDED',
          message: `The path from ${describeCertificate(this.#leaf)} does not reach a trust anchor within ${AGENT_LIMITS.chainLength} certificates (stopped at ${who}).`,
        },
      });
      return;
    }

    if (cert.selfIssued && this.#verifies(cert, cert)) {
      this.#partial.push({
        chain,
        kind: 'untrusted-root',
        reason: {
          code: 'CERT_UNTRUSTED',
          message: `The path ends at the self-signed ${who}, which is not a configured trust anchor${mismatchNote(sameNameAnchors)}.`,
        },
      });
      return;
    }

    let candidates = this.#issuerCandidates(cert, chain);
    let verified = candidates.filter((candidate) => this.#verifies(cert, candidate));
    if (verified.length === 0 && cert.caIssuers.length > 0 && this.#options.fetcher) {
      await this.#fetchAia(cert, this.#options.fetcher);
      candidates = this.#issuerCandidates(cert, chain);
      verified = candidates.filter((candidate) => this.#verifies(cert, candidate));
    }

    if (verified.length === 0) {
      if (sameNameAnchors.length > 0) {
        this.#partial.push({
          chain,
          kind: 'anchor-key-mismatch',
          reason: {
            code: 'CERT_UNTRUSTED',
            message: `${capitalize(roleOf(chain.length - 1))} ${who} names the issuer "${cert.issuer}", but the key of the configured anchor${sameNameAnchors.length > 1 ? 's' : ''} with that name (${sameNameAnchors.map(describeCertificate).join(', ')}) does not verify its signature: it was not issued by that anchor.`,
          },
        });
      } else if (candidates.length > 0) {
        this.#partial.push({
          chain,
          kind: 'bad-signature',
          reason: {
            code: 'CERT_BAD_SIGNATURE',
            message: `The signature of ${who} does not verify with the key of any certificate named "${cert.issuer}" (${candidates.map(describeCertificate).join(', ')}).`,
          },
        });
      } else {
        this.#partial.push({
          chain,
          kind: 'incomplete',
          reason: {
            code: 'CHAIN_INCOMPLETE',
            message: `The issuer "${cert.issuer}" of ${who} is neither a configured anchor nor among the intermediates${this.#aiaNote(cert)}.`,
          },
        });
      }
      return;
    }
    for (const issuer of verified) {
      await this.#extend([...chain, issuer]);
      if (this.#complete.length >= PATH_LIMITS.candidatePaths) return;
    }
  }

  #aiaNote(cert: ParsedCertificate): string {
    if (cert.caIssuers.length === 0) return ', and it names no caIssuers URL to fetch it from';
    if (this.#options.fetcher === undefined) {
      return `; its caIssuers (${cert.caIssuers.map(shortUrl).join(', ')}) were not fetched (offline)`;
    }
    const notes = cert.caIssuers.map((url) => {
      const error = this.#aiaErrors.get(url);
      return error === undefined
        ? `${shortUrl(url)} gave no certificate for that issuer`
        : `${shortUrl(url)}: ${error}`;
    });
    return `; caIssuers: ${notes.join('; ')}`;
  }

  async #fetchAia(cert: ParsedCertificate, fetcher: Fetcher): Promise<void> {
    for (const url of cert.caIssuers) {
      if (this.#aiaFetched.has(url)) continue;
      if (this.#aiaFetched.size >= PATH_LIMITS.aiaFetches) {
        this.#aiaErrors.set(
          url,
          `not fetched: ${PATH_LIMITS.aiaFetches} caIssuers fetches already made`,
        );
        continue;
      }
      this.#aiaFetched.add(url);
      const cached = this.#options.aiaCache?.get(url);
      if (cached !== undefined) {
        if ('error' in cached) this.#aiaErrors.set(url, cached.error);
        else
          for (const known of cached.certificates) this.#pool.set(known.fingerprintSha256, known);
        continue;
      }
      try {
        const bytes = await fetcher.get(url, { maxBytes: AGENT_LIMITS.fetchedCertificateBytes });
        const certs = readCertificates(bytes);
        if (certs.length > PATH_LIMITS.certificatesPerAiaAnswer) {
          throw new HispError(
            'LIMIT_EXCEEDED',
            `the answer holds ${certs.length} certificates, more than ${PATH_LIMITS.certificatesPerAiaAnswer}`,
          );
        }
        for (const fetched of certs) this.#pool.set(fetched.fingerprintSha256, fetched);
        this.#options.aiaCache?.setCertificates(url, certs);
        this.#logger.debug('caIssuers fetched', { url: shortUrl(url), certificates: certs.length });
      } catch (error) {
        const message = errorMessage(error);
        this.#aiaErrors.set(url, message);
        this.#options.aiaCache?.setFailure(url, message);
        this.#logger.warn('caIssuers fetch failed', {
          url: shortUrl(url),
          code: error instanceof HispError ? error.code : 'INTERNAL',
          reason: message,
        });
      }
    }
  }

  // ── Checks on one path ───────────────────────────────────────────────────────────────
  #staticReasons(
    chain: readonly ParsedCertificate[],
    anchor: ParsedCertificate | undefined,
  ): Reason[] {
    const reasons: Reason[] = [];
    const at = this.#at;
    const last = chain.length - 1;
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i];
      if (cert === undefined) continue;
      const isAnchor = anchor !== undefined && i === last;
      const role = isAnchor ? 'trust anchor' : roleOf(i);
      const Role = capitalize(role);
      const who = describeCertificate(cert);
      reasons.push(...validityReasons(cert, at, Role));
      const weakKey = weakKeyReason(cert, Role);
      if (weakKey !== undefined) reasons.push(weakKey);
      if (!isAnchor) {
        // A self-signed end of an untrusted path: its self-signature is not what fails it.
        const selfSignedEnd = anchor === undefined && i === last && i > 0 && cert.selfIssued;
        const signatureReason = selfSignedEnd
          ? undefined
          : weakSignatureReason(cert, Role, this.#options.allowSha1Signatures === true);
        if (signatureReason !== undefined) reasons.push(signatureReason);
        if (cert.unhandledCriticalExtensions.length > 0) {
          reasons.push({
            code: 'CERT_MALFORMED',
            message: `${Role} ${who} has critical extensions Sealpost does not process (${cert.unhandledCriticalExtensions.join(', ')}), so it cannot be accepted in a path.`,
          });
        }
      }
      if (i > 0 && !isAnchor) {
        if (cert.basicConstraints?.ca !== true) {
          reasons.push({
            code: 'CERT_NOT_CA',
            message: `${Role} ${who} issued "${chain[i - 1]?.subject ?? ''}" but is not a CA (${cert.basicConstraints === undefined ? 'no basicConstraints' : 'basicConstraints cA=false'}).`,
          });
        }
        if (cert.keyUsage !== undefined && !cert.keyUsage.has('keyCertSign')) {
          reasons.push({
            code: 'CERT_KEY_USAGE',
            message: `${Role} ${who} issued "${chain[i - 1]?.subject ?? ''}" but its key usage (${[...cert.keyUsage].join(', ') || 'empty'}) lacks keyCertSign.`,
          });
        }
      }
      if (i > 0) {
        const pathLength = cert.basicConstraints?.pathLength;
        if (pathLength !== undefined) {
          let below = 0;
          for (let j = 1; j < i; j++) if (chain[j]?.selfIssued === false) below++;
          if (below > pathLength) {
            reasons.push({
              code: 'CERT_NOT_CA',
              message: `${Role} ${who} allows ${pathLength} intermediate CA${pathLength === 1 ? '' : 's'} below it (pathLenConstraint), but the path has ${below}.`,
            });
          }
        }
      }
    }
    reasons.push(...nameConstraintReasons(chain, anchor));
    return reasons;
  }

  // ── Decisions ────────────────────────────────────────────────────────────────────────
  async #decideComplete(): Promise<PathResult> {
    const scored = this.#complete
      .map((path) => ({ path, reasons: this.#staticReasons(path.chain, path.anchor) }))
      .sort(
        (a, b) => a.reasons.length - b.reasons.length || a.path.chain.length - b.path.chain.length,
      );
    let best: PathResult | undefined;
    for (const [attempt, candidate] of scored.entries()) {
      if (attempt >= PATH_LIMITS.revocationAttempts) break;
      if (attempt > 0 && candidate.reasons.length > 0) break;
      const { chain, anchor } = candidate.path;
      const revocation = await this.#revocation(chain, anchor);
      const reasons = dedupe([...candidate.reasons, ...revocation.reasons, ...this.#limitReasons]);
      const blocking = reasons.filter(
        (r) =>
          r.code !== 'CERT_SHA1_SIGNATURE' &&
          !(r.code === 'REVOCATION_UNKNOWN' && this.#options.revocation === 'soft'),
      );
      const result: PathResult = {
        trusted: blocking.length === 0,
        chain,
        anchor,
        reasons,
        revocation: revocation.entries,
      };
      best ??= result;
      if (result.trusted) return result;
    }
    if (best === undefined) throw new HispError('INTERNAL', 'no candidate path was evaluated');
    return best;
  }

  #decidePartial(): PathResult {
    // The deepest dead end says the most; among equals, the first found.
    const ranked = [...this.#partial].sort((a, b) => b.chain.length - a.chain.length);
    const chosen = ranked[0];
    const chain = chosen?.chain ?? [this.#leaf];
    const reasons: Reason[] = [...this.#staticReasons(chain, undefined)];
    if (chosen !== undefined) reasons.push(chosen.reason);
    // risk-9: a same-name anchor with another key is worth saying even if another branch was deeper.
    for (const other of this.#partial) {
      if (other.kind === 'anchor-key-mismatch' && other !== chosen) reasons.push(other.reason);
    }
    reasons.push(...this.#limitReasons);
    // Whatever the dead end, the verdict is "not trusted": say so in the registry's words too
    // (CHAIN_INCOMPLETE, CERT_BAD_SIGNATURE, ... say why).
    if (!reasons.some((r) => r.code === 'CERT_UNTRUSTED')) {
      const anchors = [...this.#anchorsByFingerprint.values()];
      const named = anchors
        .slice(0, 3)
        .map((a) => `"${a.subject}"`)
        .join(', ');
      const list =
        anchors.length === 0
          ? 'no trust anchors are configured'
          : `configured: ${named}${anchors.length > 3 ? ` and ${anchors.length - 3} more` : ''}`;
      reasons.push({
        code: 'CERT_UNTRUSTED',
        message: `${capitalize(roleOf(0))} ${describeCertificate(this.#leaf)} does not chain to a configured trust anchor (${list}).`,
      });
    }
    const final = dedupe(reasons);
    return {
      trusted: false,
      chain,
      anchor: undefined,
      reasons: final,
      revocation: chain.map((cert) => ({
        subject: cert.subject,
        fingerprintSha256: cert.fingerprintSha256,
        status: 'not-checked' as const,
        source: 'the path does not reach a trust anchor',
      })),
    };
  }

  // ── Revocation ───────────────────────────────────────────────────────────────────────
  async #revocation(
    chain: readonly ParsedCertificate[],
    anchor: ParsedCertificate,
  ): Promise<{ entries: RevocationEntry[]; reasons: Reason[] }> {
    const entries: RevocationEntry[] = [];
    const reasons: Reason[] = [];
    const mode = this.#options.revocation;
    const nonAnchors = chain[chain.length - 1] === anchor ? chain.slice(0, -1) : chain;
    for (const [i, cert] of nonAnchors.entries()) {
      const issuer = chain[i + 1];
      if (mode === 'off' || issuer === undefined) {
        entries.push({
          subject: cert.subject,
          fingerprintSha256: cert.fingerprintSha256,
          status: 'not-checked',
          source: 'revocation checking is off',
        });
        continue;
      }
      const Role = capitalize(roleOf(i));
      const who = describeCertificate(cert);
      const answer = await this.#statusOf(cert, issuer, true);
      entries.push({
        subject: cert.subject,
        fingerprintSha256: cert.fingerprintSha256,
        status: answer.status,
        source: answer.source,
        ...(answer.responder === undefined ? {} : { responder: answer.responder }),
      });
      if (answer.responder?.status === 'unknown') {
        reasons.push({
          code: 'REVOCATION_UNKNOWN',
          message: `The revocation status of the delegated OCSP responder "${answer.responder.subject}" (SHA-256 ${answer.responder.fingerprintSha256.slice(0, 16)}), whose answer for ${role(Role)} ${who} was used, is unknown (${answer.responder.source ?? 'no source'}); it does not carry id-pkix-ocsp-nocheck, so it must be checked; ${mode === 'hard' ? 'hard-fail: trust fails' : 'soft-fail: trust stands, reported'}.`,
        });
      }
      if (answer.status === 'revoked') {
        reasons.push({
          code: 'CERT_REVOKED',
          message: `${Role} ${who} is revoked: ${answer.source}.`,
        });
      } else if (answer.status === 'unknown') {
        reasons.push({
          code: 'REVOCATION_UNKNOWN',
          message: `The revocation status of ${role(Role)} ${who} is unknown (${answer.source}); ${mode === 'hard' ? 'hard-fail: trust fails' : 'soft-fail: trust stands, reported'}.`,
        });
      }
    }
    return { entries, reasons };
  }

  #given(): { crl?: ParsedCrl; error?: string }[] {
    if (this.#givenCrls === undefined) {
      this.#givenCrls = (this.#options.crls ?? []).map((bytes, index) => {
        try {
          return { crl: readCrl(bytes) };
        } catch (error) {
          const message = `given CRL #${index + 1} could not be read: ${errorMessage(error)}`;
          this.#logger.warn('given CRL unreadable', { index, reason: message });
          return { error: message };
        }
      });
    }
    return this.#givenCrls;
  }

  /**
   * The status of `cert` from the sources in order; `useOcsp` false for a delegated OCSP
   * responder, which is checked against CRLs only (asking OCSP about the responder could
   * loop back to it).
   */
  async #statusOf(
    cert: ParsedCertificate,
    issuer: ParsedCertificate,
    useOcsp: boolean,
  ): Promise<{
    status: 'good' | 'revoked' | 'unknown';
    source: string;
    responder?: RevocationEntry;
  }> {
    const notes: string[] = [];
    const decide = (verdict: CrlVerdict, source: string) => {
      if (verdict.status === 'good') return { status: 'good' as const, source };
      if (verdict.status === 'revoked')
        return { status: 'revoked' as const, source: verdict.detail };
      notes.push(verdict.detail);
      return undefined;
    };

    // 1. CRLs given by the caller.
    for (const given of this.#given()) {
      if (given.crl === undefined) {
        if (given.error !== undefined) notes.push(given.error);
        continue;
      }
      if (!(given.crl.issuerDer.equals(cert.issuerDer) || given.crl.issuerKey === cert.issuerKey))
        continue;
      const answer = decide(
        checkCrl(given.crl, cert, issuer, this.#at, 'the given CRLs'),
        'given CRL',
      );
      if (answer !== undefined) return answer;
    }

    // 2. CRLs already at hand (this validation's or the cache's).
    const cache = this.#options.crlCache;
    const fetcher = this.#options.fetcher;
    const answered = new Set<string>();
    for (const url of cert.crlDistributionPoints) {
      const where = shortUrl(url);
      const local = this.#crlsByUrl.get(url);
      if (typeof local === 'string') continue;
      const cached = local ?? cache?.get(url);
      if (cached === undefined) continue;
      answered.add(url);
      const answer = decide(
        checkCrl(cached, cert, issuer, this.#at, `${where} (cached)`),
        `cache: ${where}`,
      );
      if (answer !== undefined) return answer;
    }

    // 3. OCSP: the cache, then the responders named in the AIA.
    if (useOcsp) {
      const ocsp = await this.#ocspStatus(cert, issuer, notes);
      if (ocsp !== undefined) return ocsp;
    }

    // 4. The distribution points.
    for (const url of cert.crlDistributionPoints) {
      if (answered.has(url)) continue;
      const where = shortUrl(url);
      const local = this.#crlsByUrl.get(url);
      if (typeof local === 'string') {
        notes.push(local);
        continue;
      }
      const remembered = cache?.failure(url);
      if (remembered !== undefined) {
        notes.push(`${remembered} (remembered from an earlier attempt)`);
        continue;
      }
      if (fetcher === undefined) {
        notes.push(`the CRL at ${where} was not fetched (offline)`);
        continue;
      }
      if (this.#crlFetches >= PATH_LIMITS.crlFetches) {
        notes.push(
          `the CRL at ${where} was not fetched: ${PATH_LIMITS.crlFetches} CRL fetches already made`,
        );
        continue;
      }
      this.#crlFetches++;
      let crl: ParsedCrl;
      try {
        crl = readCrl(await fetcher.get(url, { maxBytes: AGENT_LIMITS.crlBytes }));
      } catch (error) {
        const detail = `the CRL at ${where} could not be used: ${errorMessage(error)}`;
        this.#crlsByUrl.set(url, detail);
        cache?.setFailure(url, detail);
        this.#logger.warn('CRL fetch failed', {
          url: where,
          code: error instanceof HispError ? error.code : 'INTERNAL',
          reason: detail,
        });
        notes.push(detail);
        continue;
      }
      const verdict = checkCrl(crl, cert, issuer, this.#at, where);
      if (verdict.status === 'good' || verdict.status === 'revoked') {
        this.#crlsByUrl.set(url, crl);
        cache?.set(url, crl);
      } else {
        this.#crlsByUrl.set(url, verdict.detail);
        cache?.setFailure(url, verdict.detail);
        this.#logger.warn('CRL unusable', { url: where, reason: verdict.detail });
      }
      const answer = decide(verdict, where);
      if (answer !== undefined) return answer;
    }

    if (notes.length === 0) {
      notes.push(
        cert.crlDistributionPoints.length === 0
          ? 'it names no CRL distribution point and no given CRL is from its issuer'
          : 'no CRL answered',
      );
    }
    return { status: 'unknown', source: notes.join('; ') };
  }

  /**
   * The delegated OCSP responder's own revocation entry (once per validation): not checked
   * when it carries id-pkix-ocsp-nocheck, otherwise checked against CRLs (RFC 6960
   * §4.2.2.2.1). It is issued by `issuer`, as checkOcspResponse made sure.
   */
  #responderEntry(
    responder: ParsedCertificate,
    issuer: ParsedCertificate,
  ): Promise<RevocationEntry> {
    const key = `${responder.fingerprintSha256}/${issuer.fingerprintSha256}`;
    let entry = this.#responders.get(key);
    if (entry === undefined) {
      entry = (async (): Promise<RevocationEntry> => {
        const base = { subject: responder.subject, fingerprintSha256: responder.fingerprintSha256 };
        if (responder.ocspNoCheck) {
          return {
            ...base,
            status: 'not-checked',
            source: 'it carries id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1)',
          };
        }
        const status = await this.#statusOf(responder, issuer, false);
        return { ...base, status: status.status, source: status.source };
      })();
      this.#responders.set(key, entry);
    }
    return entry;
  }

  /** A definite OCSP answer for `cert` (cache first, then its AIA responders), else notes. */
  async #ocspStatus(
    cert: ParsedCertificate,
    issuer: ParsedCertificate,
    notes: string[],
  ): Promise<
    { status: 'good' | 'revoked'; source: string; responder?: RevocationEntry } | undefined
  > {
    const urls = cert.ocsp.filter((url) => /^https?:\/\//i.test(url));
    if (urls.length === 0) return undefined;
    const at = this.#at.getTime();
    const usable = (answer: OcspAnswer) =>
      (answer.nextUpdate === undefined || answer.nextUpdate.getTime() > at) &&
      (answer.thisUpdate === undefined ||
        answer.thisUpdate.getTime() <= at + OCSP_LIMITS.clockSkewMs);
    const definite = (answer: OcspAnswer, cached: boolean) => {
      const where = shortUrl(answer.url ?? '');
      if (answer.status === 'good') {
        return { status: 'good' as const, source: `${cached ? 'cache: ' : ''}ocsp: ${where}` };
      }
      if (answer.status === 'revoked') {
        return {
          status: 'revoked' as const,
          source: `${answer.detail}${cached ? ' (cached)' : ''}`,
        };
      }
      return undefined;
    };
    // A definite answer counts unless its delegated responder is itself revoked.
    const accept = async (answer: OcspAnswer, cached: boolean) => {
      const decided = definite(answer, cached);
      if (decided === undefined) return undefined;
      if (answer.responderCertificate === undefined) return decided;
      const where = `${shortUrl(answer.url ?? '')}${cached ? ' (cached)' : ''}`;
      const responder = delegatedResponder(answer);
      if (responder === undefined) {
        notes.push(
          `the OCSP answer from ${where} names a responder certificate that cannot be read`,
        );
        return undefined;
      }
      const entry = await this.#responderEntry(responder, issuer);
      if (entry.status === 'revoked') {
        notes.push(
          `the OCSP answer from ${where} is signed by the delegated responder ${describeCertificate(responder)}, which is revoked (${entry.source ?? 'no source'}), so it is not used`,
        );
        this.#logger.warn('OCSP responder revoked', {
          url: shortUrl(answer.url ?? ''),
          responder: responder.subject,
        });
        return undefined;
      }
      return { ...decided, responder: entry };
    };

    const cache = this.#options.ocspCache;
    const cached = cache?.get(cert, issuer);
    if (cached !== undefined && usable(cached)) {
      const answer = await accept(cached, true);
      if (answer !== undefined) return answer;
    }
    const fetcher = this.#options.fetcher;
    for (const url of urls) {
      const where = shortUrl(url);
      const key = `${url}\u0000${cert.fingerprintSha256}`;
      let answer = this.#ocspByUrl.get(key);
      if (answer === undefined) {
        const remembered = cache?.failure(url);
        if (remembered !== undefined) {
          notes.push(`${remembered} (remembered from an earlier attempt)`);
          continue;
        }
        if (fetcher === undefined) {
          notes.push(`the OCSP responder at ${where} was not asked (offline)`);
          continue;
        }
        if (this.#ocspQueries >= PATH_LIMITS.ocspQueries) {
          notes.push(
            `the OCSP responder at ${where} was not asked: ${PATH_LIMITS.ocspQueries} OCSP requests already made`,
          );
          continue;
        }
        this.#ocspQueries++;
        answer = {
          ...(await queryOcsp(url, cert, issuer, fetcher, this.#at, { source: where })),
          url,
        };
        this.#ocspByUrl.set(key, answer);
        if (answer.status === 'unknown') {
          if (answer.responderFailed === true) cache?.setFailure(url, answer.detail);
          this.#logger.warn('OCSP answer unusable', { url: where, reason: answer.detail });
          notes.push(answer.detail);
          continue;
        }
        this.#logger.debug('OCSP answered', {
          url: where,
          status: answer.status,
          method: answer.method,
        });
        const accepted = await accept(answer, false);
        if (accepted === undefined) continue;
        cache?.set(cert, issuer, answer);
        return accepted;
      }
      const decided = await accept(answer, false);
      if (decided !== undefined) return decided;
      if (answer.status === 'unknown') notes.push(answer.detail);
    }
    return undefined;
  }

  // ── Monitoring ───────────────────────────────────────────────────────────────────────
  #log(result: PathResult): void {
    const fields = {
      // Not "subject": the logger treats that key as message content and redacts it.
      certificate: this.#leaf.subject,
      fingerprintSha256: this.#leaf.fingerprintSha256,
      anchor: result.anchor?.subject,
      chainLength: result.chain.length,
      codes: result.reasons.map((r) => r.code),
      revocationMode: this.#options.revocation,
    };
    if (!result.trusted) {
      // Invalid-certificate events are the monitoring signal for risks 10 and 11.
      this.#logger.warn('certificate path rejected', {
        ...fields,
        reasons: result.reasons.map((r) => r.message),
      });
    } else if (result.reasons.length > 0) {
      this.#logger.warn('certificate path trusted with soft-fail revocation', {
        ...fields,
        reasons: result.reasons.map((r) => r.message),
      });
    } else {
      this.#logger.debug('certificate path trusted', fields);
    }
  }
}

/** The names of `cert` that name constraints apply to (RFC 5280 §6.1.3 (b), (c)). */
function constrainedNames(cert: ParsedCertificate): ConstrainedNames {
  return {
    rfc822Names: cert.rfc822Names,
    emailAddresses: cert.subjectEmailAddresses,
    dnsNames: cert.dnsNames,
    directoryNames: [
      ...(cert.subjectRdns.length > 0 ? [{ text: cert.subject, rdns: cert.subjectRdns }] : []),
      ...cert.directoryNames,
    ],
    ipAddresses: cert.ipAddresses,
  };
}

function describeViolation(violation: NameViolation): string {
  const list = violation.subtrees.join(', ');
  return violation.kind === 'excluded'
    ? `its ${violation.form} "${violation.name}" is in the excluded subtree ${list}`
    : `its ${violation.form} "${violation.name}" is outside the permitted ${violation.form} subtrees (${list})`;
}

/**
 * Name constraints (RFC 5280 §6.1.3 (b)/(c), §6.1.4 (g)): the constraints of every CA in the
 * path — the anchor's too, as OpenSSL applies them — hold for every certificate below it,
 * except self-issued intermediates (key rollover). Critical or not, the extension is applied.
 */
function nameConstraintReasons(
  chain: readonly ParsedCertificate[],
  anchor: ParsedCertificate | undefined,
): Reason[] {
  const reasons: Reason[] = [];
  const last = chain.length - 1;
  for (let j = 1; j < chain.length; j++) {
    const ca = chain[j];
    const constraints = ca?.nameConstraints;
    if (ca === undefined || constraints === undefined) continue;
    const caRole = anchor !== undefined && j === last ? 'trust anchor' : roleOf(j);
    const caWho = `${caRole} ${describeCertificate(ca)}`;
    const refusals = constraintRefusals(constraints);
    if (refusals.length > 0) {
      reasons.push({
        code: 'CERT_NAME_CONSTRAINTS',
        message: `The name constraints of ${caWho} cannot be applied (${refusals.join('; ')}), so the path cannot be accepted.`,
      });
    }
    for (let i = 0; i < j; i++) {
      const cert = chain[i];
      if (cert === undefined || (i > 0 && cert.selfIssued)) continue;
      const violations = checkNameConstraints(constrainedNames(cert), constraints);
      if (violations.length === 0) continue;
      reasons.push({
        code: 'CERT_NAME_CONSTRAINTS',
        message: `${capitalize(roleOf(i))} ${describeCertificate(cert)} is outside the name constraints of ${caWho}: ${violations.map(describeViolation).join('; ')}.`,
      });
    }
  }
  return reasons;
}

function roleOf(index: number): string {
  return index === 0 ? 'certificate' : 'intermediate CA';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function role(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function mismatchNote(anchors: readonly ParsedCertificate[]): string {
  if (anchors.length === 0) return '';
  return ` (the configured anchor ${anchors.map(describeCertificate).join(', ')} has the same name but a different key)`;
}

function dedupe(reasons: readonly Reason[]): Reason[] {
  const seen = new Set<string>();
  const out: Reason[] = [];
  for (const reason of reasons) {
    const key = `${reason.code}\u0000${reason.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(reason);
  }
  return out;
}
