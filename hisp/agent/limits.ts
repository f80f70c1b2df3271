/**
 * Every bound the security agent's parsers enforce (risk-16: parsers bounded). One place,
 * one comment per bound. Exceeding one is a HispError LIMIT_EXCEEDED, never a crash or an
 * unbounded allocation.
 */
export const AGENT_LIMITS = {
  /** Largest whole message (RFC 5322 bytes) accepted inbound or signed outbound. Direct
   * messages carry clinical documents and images; 100 MiB is well above what HISPs relay. */
  messageBytes: 100 * 1024 * 1024,
  /** Largest CMS structure (DER/BER). A CMS travels base64-encoded inside a message, so it
   * can never legitimately exceed the message limit; outbound, the whole encrypted message
   * must fit `messageBytes` so that every Direct peer with our limits accepts it. */
  cmsBytes: 100 * 1024 * 1024,
  /** ASN.1 elements visited while reading one structure (segments plus ordinary elements). */
  asn1Elements: 300_000,
  /** Header block of one MIME part, in bytes. */
  headerBytes: 256 * 1024,
  /** Header fields in one MIME part. */
  headerFields: 1000,
  /** One header line before unfolding, in bytes (RFC 5322 says 998; be generous). */
  headerLineBytes: 64 * 1024,
  /** Multipart nesting depth (message/rfc822 counts as a level). */
  mimeDepth: 16,
  /** MIME parts in one message, all levels together. */
  mimeParts: 1000,
  /** Multipart boundary length (RFC 2046: at most 70). */
  boundaryLength: 200,
  /** ASN.1 nesting depth in the BER reader. */
  asn1Depth: 32,
  /** Segments of one constructed (BER, chunked) OCTET STRING. pkijs writes 1 KiB chunks, so
   * 100 MiB of content is ~100k segments. */
  asn1Segments: 200_000,
  /** RecipientInfos in one EnvelopedData (every To/Cc plus the sender). */
  recipientInfos: 500,
  /** Certificates carried in one SignedData. */
  certificatesInMessage: 50,
  /** SignerInfos in one SignedData. */
  signerInfos: 10,
  /** Signed attributes in one SignerInfo. */
  signedAttributes: 50,
  /** Certificates in a path, leaf to anchor. */
  chainLength: 8,
  /** A certificate fetched from an AIA caIssuers URL (DER, PEM or PKCS#7). */
  fetchedCertificateBytes: 1024 * 1024,
  /** A CRL fetched from a distribution point. */
  crlBytes: 20 * 1024 * 1024,
  /** Time for one HTTP fetch (AIA, CRL), in milliseconds. */
  fetchTimeoutMs: 10_000,
  /** HTTP redirects followed for one fetch. */
  fetchRedirects: 3,
} as const;
