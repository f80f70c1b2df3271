/**
 * Key material: private keys and certificates from PEM/DER files, and identities from
 * PKCS#12 files. See material.ts and pkcs12.ts.
 */
export {
  assertKeyMatchesCertificate,
  keyMatchesCertificate,
  readCertificateDers,
  readPkcs12,
  readPrivateKey,
  type Pkcs12Contents,
} from './material.js';
export { conversionAdvice } from './pkcs12.js';
export { KEY_LIMITS } from './limits.js';
