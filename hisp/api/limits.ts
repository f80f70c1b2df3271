/** Bounds on what crosses the API contract. One place, one comment per bound. */
export const LIMITS = {
  /** Largest wire message in UTF-16 code units (JSON text): a composed message with its
   * attachments travels as one call, so this covers the attachment limit in base64 (4/3). */
  wireMessageChars: 32 * 1024 * 1024,
  /** Largest total size of a composed message's attachments, in bytes (before base64): what
   * the compose window shows and the HISP enforces. Direct HISPs commonly accept 25 MB whole
   * messages; 20 MiB of attachments stays under that after S/MIME's base64. */
  composeAttachmentBytes: 20 * 1024 * 1024,
  /** Most attachments on one composed message. */
  composeAttachments: 50,
  /** Largest HTTP request body the bridge reads for one call, in bytes: a composed message
   * with all its attachments in base64, with room for the JSON around it. */
  bridgeRequestBytes: 40 * 1024 * 1024,
  /** Calls in flight on one connection before new ones are refused. */
  pendingCallsPerConnection: 256,
  /** Default time a client waits for an answer, in milliseconds. */
  callTimeoutMs: 30_000,
} as const;
