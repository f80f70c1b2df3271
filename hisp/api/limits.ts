/** Bounds on what crosses the API contract. One place, one comment per bound. */
export const LIMITS = {
  /** Largest wire message in UTF-16 code units (JSON text). Message bodies will move as
   * streamed chunks, never as one wire message, so 4 MiB is ample for any call. */
  wireMessageChars: 4 * 1024 * 1024,
  /** Largest HTTP request body the bridge reads for one call, in bytes. */
  bridgeRequestBytes: 1024 * 1024,
  /** Calls in flight on one connection before new ones are refused. */
  pendingCallsPerConnection: 256,
  /** Default time a client waits for an answer, in milliseconds. */
  callTimeoutMs: 30_000,
} as const;
