/**
 * Shared vocabulary of the security agent: algorithm names as they appear in reports and on
 * the command line, and the byte-source abstraction that lets 50 MB messages flow through
 * signing and encryption without being copied whole at every step.
 */
export type ContentCipher =
  'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc' | 'aes128-gcm' | 'aes192-gcm' | 'aes256-gcm';
export type KeyTransport = 'oaep-sha1' | 'oaep-sha256' | 'oaep-sha384' | 'oaep-sha512' | 'pkcs1';
/** Digest names as seen on the wire; md5 and sha1 exist only so they can be reported and refused. */
export type DigestName = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
export type SigningDigest = 'sha256' | 'sha384' | 'sha512';

export const CONTENT_CIPHERS: readonly ContentCipher[] = [
  'aes128-cbc',
  'aes192-cbc',
  'aes256-cbc',
  'aes128-gcm',
  'aes192-gcm',
  'aes256-gcm',
];
export const KEY_TRANSPORTS: readonly KeyTransport[] = [
  'oaep-sha1',
  'oaep-sha256',
  'oaep-sha384',
  'oaep-sha512',
  'pkcs1',
];
export const SIGNING_DIGESTS: readonly SigningDigest[] = ['sha256', 'sha384', 'sha512'];

/** Defaults for what Sealpost sends (DESIGN.md §4). */
export const OUTBOUND_DEFAULTS = {
  cipher: 'aes256-cbc',
  keyTransport: 'oaep-sha256',
  digest: 'sha256',
} as const satisfies { cipher: ContentCipher; keyTransport: KeyTransport; digest: SigningDigest };

/**
 * Bytes known by length up front, produced chunk by chunk. `chunks()` may be called once
 * only when `reiterable` is false (for example when it runs a cipher as it goes).
 */
export interface ByteSource {
  readonly length: number;
  readonly reiterable: boolean;
  chunks(): Iterable<Uint8Array>;
}

export function bytesOf(...parts: Array<Uint8Array | string>): ByteSource {
  const buffers = parts.map((part) =>
    typeof part === 'string' ? Buffer.from(part, 'utf8') : part,
  );
  return {
    length: buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0),
    reiterable: true,
    chunks: () => buffers,
  };
}

export function concatSources(...sources: ByteSource[]): ByteSource {
  return {
    length: sources.reduce((sum, source) => sum + source.length, 0),
    reiterable: sources.every((source) => source.reiterable),
    *chunks() {
      for (const source of sources) yield* source.chunks();
    },
  };
}

/** Collects a source into one Buffer (one copy). */
export function collect(source: ByteSource): Buffer {
  const out = Buffer.allocUnsafe(source.length);
  let offset = 0;
  for (const chunk of source.chunks()) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  if (offset !== source.length)
    throw new Error(`byte source produced ${offset} bytes, declared ${source.length}`);
  return out;
}
