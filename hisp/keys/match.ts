/** Whether a key and a certificate are one key pair (used by material.ts and pkcs12.ts). */
import type { KeyObject, X509Certificate } from 'node:crypto';

/** True when `key` is the key pair of `cert` (private key, or the same public key). */
export function keyMatchesCertificate(key: KeyObject, cert: X509Certificate): boolean {
  try {
    if (key.type === 'private') {
      // OpenSSL's X509_check_private_key: EVP_PKEY_eq on the public halves (so an EC point
      // written compressed in the certificate still matches).
      return cert.checkPrivateKey(key);
    }
    if (key.type === 'public') return key.equals(cert.publicKey);
    return false;
  } catch {
    // Different key types (an EC key against an RSA certificate) may throw rather than
    // return false.
    return false;
  }
}
