/**
 * The bounds the MIME parser enforces (risk-16). The message-level bounds are the agent's own
 * (hisp/agent/limits.ts, AGENT_LIMITS — the one place for them); the address-list bounds below
 * are specific to header parsing and are candidates to move into AGENT_LIMITS.
 * Exceeding any bound is HispError LIMIT_EXCEEDED.
 */
import { AGENT_LIMITS } from '../limits.js';

export interface MimeLimits {
  /** Whole message in bytes (AGENT_LIMITS.messageBytes). */
  readonly messageBytes: number;
  /** Header block of one entity in bytes (AGENT_LIMITS.headerBytes). */
  readonly headerBytes: number;
  /** Header fields in one entity (AGENT_LIMITS.headerFields). */
  readonly headerFields: number;
  /** One physical header line in bytes, before unfolding (AGENT_LIMITS.headerLineBytes). */
  readonly headerLineBytes: number;
  /** Nesting depth: multipart levels, and message/rfc822 when the caller parses one
   * (AGENT_LIMITS.mimeDepth). */
  readonly mimeDepth: number;
  /** Entities in one message, all levels together (AGENT_LIMITS.mimeParts). */
  readonly mimeParts: number;
  /** Multipart boundary length (AGENT_LIMITS.boundaryLength). */
  readonly boundaryLength: number;
}

export const MIME_LIMITS: MimeLimits = {
  messageBytes: AGENT_LIMITS.messageBytes,
  headerBytes: AGENT_LIMITS.headerBytes,
  headerFields: AGENT_LIMITS.headerFields,
  headerLineBytes: AGENT_LIMITS.headerLineBytes,
  mimeDepth: AGENT_LIMITS.mimeDepth,
  mimeParts: AGENT_LIMITS.mimeParts,
  boundaryLength: AGENT_LIMITS.boundaryLength,
};

export const ADDRESS_LIMITS = {
  /** Characters in one address-list header value (To/Cc with a few hundred recipients is
   * ~20 KiB; the header block bound applies too). */
  listChars: 64 * 1024,
  /** Addresses in one list (every To/Cc of a Direct message, as recipientInfos allows 500). */
  addresses: 1000,
  /** One address (local part + "@" + domain). RFC 5321 allows 64 + 1 + 255; VERP and SRS
   * addresses run longer in practice. */
  addressChars: 512,
  /** Nesting of comments "(a (b (c)))". */
  commentDepth: 8,
} as const;

export function withDefaults(limits: Partial<MimeLimits> | undefined): MimeLimits {
  return limits === undefined ? MIME_LIMITS : { ...MIME_LIMITS, ...limits };
}
