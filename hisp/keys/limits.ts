/**
 * Every bound the key-material readers enforce (risk-16: parsers bounded). One place, one
 * comment per bound. Exceeding one is a HispError (PKCS12_MALFORMED, KEY_MALFORMED or
 * CERT_MALFORMED with a message naming the bound), never a crash, a hang or an unbounded
 * allocation. These files come from users and from IT staff, not from the network, but an
 * import dialog must still not be hung by a hostile file.
 */
export const KEY_LIMITS = {
  /** A whole PKCS#12 file. Real ones are 2-20 KiB (a key and a chain of a few certificates). */
  pkcs12Bytes: 4 * 1024 * 1024,
  /** A private-key file (PEM or DER). An RSA-16384 PKCS#8 PEM is under 13 KiB. */
  keyFileBytes: 1024 * 1024,
  /** A certificate file (PEM bundle or one DER certificate). Trust bundles with a few hundred
   * roots are ~300 KiB of PEM. */
  certFileBytes: 16 * 1024 * 1024,
  /** PEM blocks in one file (a CA bundle holds a few hundred). */
  pemBlocks: 5000,
  /** ContentInfos in a PKCS#12 AuthenticatedSafe (OpenSSL writes 2). */
  authSafeContents: 64,
  /** SafeBags in one PKCS#12 file, all SafeContents together. */
  safeBags: 256,
  /** Certificates in one PKCS#12 file (leaf plus chain). */
  pkcs12Certificates: 64,
  /** Private keys in one PKCS#12 file. More than one is refused anyway (one identity per file);
   * this bounds the work done before saying so. */
  pkcs12Keys: 8,
  /** Nesting of safeContentsBag inside SafeContents (RFC 7292 allows recursion; nobody nests). */
  safeContentsDepth: 4,
  /** Attributes on one SafeBag (friendlyName, localKeyId, a few vendor ones). */
  bagAttributes: 32,
  /** ASN.1 nesting depth while reading PKCS#12 / PKCS#8 structures (a p12 is ~10 deep). */
  asn1Depth: 32,
  /** ASN.1 elements visited while reading one structure (a p12 with a 10-certificate chain
   * visits ~5,000). */
  asn1Nodes: 200_000,
  /** Iterations of the RFC 7292 Appendix B KDF (MAC and legacy PBE keys). It runs one hash per
   * iteration in JavaScript; OpenSSL writes 2048, Windows 2000, Java 10000-100000. */
  pkcs12KdfIterations: 1_000_000,
  /** PBKDF2 iterations (PBES2, PBMAC1). Native code; OWASP 2023 suggests 600,000 for SHA-256. */
  pbkdf2Iterations: 10_000_000,
  /** Salt length for any of the KDFs. */
  saltBytes: 1024,
  /** A password, in characters. */
  passwordChars: 1024,
} as const;
