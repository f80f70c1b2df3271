import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  ERROR_CODE_LIST,
  HispError,
  SerializedErrorSchema,
  isErrorCode,
  missingCaseError,
} from '../../hisp/api/index.js';

describe('error-code registry', () => {
  it('is pinned: codes are never renamed, removed or silently re-classified', () => {
    // Adding a code means adding it here too; changing this table is a contract change.
    const pinned = Object.fromEntries(
      Object.entries(ERROR_CODES).map(([code, info]) => [code, info.userFixable]),
    );
    expect(pinned).toEqual({
      BAD_REQUEST: false,
      BAD_RESPONSE: false,
      UNKNOWN_METHOD: false,
      INTERNAL: false,
      CANCELLED: false,
      TIMEOUT: false,
      CHANNEL_CLOSED: false,
      UNAUTHORIZED: true,
      FORBIDDEN_ORIGIN: true,
      FORBIDDEN_HOST: true,
      PAYLOAD_TOO_LARGE: false,
      NOT_FOUND: false,
      USAGE: true,
      ADDRESS_IN_USE: true,
      NOT_LOOPBACK: true,
      LIMIT_EXCEEDED: true,
      MIME_MALFORMED: true,
      NOT_SMIME: true,
      CMS_MALFORMED: true,
      UNSUPPORTED_ALGORITHM: true,
      NO_MATCHING_RECIPIENT: true,
      DECRYPT_FAILED: true,
      NOT_SIGNED: true,
      SIGNATURE_INVALID: true,
      WEAK_DIGEST: true,
      ROUTING_MISMATCH: true,
      IDENTITY_MISMATCH: true,
      CERT_MALFORMED: true,
      KEY_MALFORMED: true,
      KEY_CERT_MISMATCH: true,
      PKCS12_BAD_PASSWORD: true,
      PKCS12_UNSUPPORTED: true,
      PKCS12_MALFORMED: true,
      WEAK_KEY: true,
      CERT_WEAK_SIGNATURE: true,
      CERT_SHA1_SIGNATURE: true,
      CERT_BAD_SIGNATURE: true,
      CERT_EXPIRED: true,
      CERT_NOT_YET_VALID: true,
      CERT_REVOKED: true,
      REVOCATION_UNKNOWN: true,
      CERT_UNTRUSTED: true,
      CHAIN_INCOMPLETE: true,
      CERT_ADDRESS_MISMATCH: true,
      CERT_KEY_USAGE: true,
      CERT_NOT_CA: true,
      DNS_FAILED: true,
      LDAP_FAILED: true,
      FETCH_FAILED: true,
      BUNDLE_MALFORMED: true,
      BUNDLE_SIGNATURE_INVALID: true,
      BUNDLE_SIGNER_UNTRUSTED: true,
      ANCHOR_NOT_FOUND: true,
      KEYCHAIN_UNAVAILABLE: true,
      KEYCHAIN_LOCKED: true,
      KEYCHAIN_DENIED: true,
      KEYCHAIN_ENTRY_MISSING: true,
      VAULT_BAD_PASSPHRASE: true,
      PROFILE_NOT_FOUND: true,
      PROFILE_EXISTS: true,
      STORE_WRONG_KEY: true,
      STORE_CORRUPT: true,
      STORE_TOO_NEW: true,
      AUDIT_CHAIN_BROKEN: true,
      PROFILE_LOCKED: true,
      EXPORT_BAD_PASSPHRASE: true,
      EXPORT_MALFORMED: true,
      MESSAGE_NOT_FOUND: true,
      IDENTITY_NOT_FOUND: true,
      UPSTREAM_UNAVAILABLE: true,
      UPSTREAM_TLS_REQUIRED: true,
      UPSTREAM_AUTH_FAILED: true,
      CERT_NAME_CONSTRAINTS: true,
      RELAY_REJECTED: true,
      RELAY_DEFERRED: false,
      RELAY_TLS_REQUIRED: true,
      RELAY_AUTH_FAILED: true,
      RELAY_CONNECTION: false,
      RELAY_NO_ROUTE: true,
      RELAY_MESSAGE_REFUSED: true,
      DELIVERY_TIMED_OUT: true,
      DELIVERY_FAILED: true,
      SETTING_MANAGED: true,
      SETTING_INVALID: true,
      SETTING_IN_CONFIG_FILE: true,
      STORE_FULL: true,
      MAIL_NOT_CONFIGURED: true,
    });
  });

  it('uses one casing for every code and a sentence for every description', () => {
    for (const code of ERROR_CODE_LIST) {
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      const { description } = ERROR_CODES[code];
      expect(description.length, code).toBeGreaterThan(15);
      expect(description, code).toMatch(/^[A-Z].*\.$/);
    }
  });

  it('recognises registry codes and nothing else', () => {
    expect(isErrorCode('TIMEOUT')).toBe(true);
    expect(isErrorCode('timeout')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('HispError', () => {
  it('serialises to {name, code, message, userFixable} and back, without the cause', () => {
    const error = new HispError('UNAUTHORIZED', undefined, { cause: new Error('secret detail') });
    const wire = JSON.parse(JSON.stringify(error)) as unknown;
    expect(wire).toEqual({
      name: 'HispError',
      code: 'UNAUTHORIZED',
      message: ERROR_CODES.UNAUTHORIZED.description,
      userFixable: true,
    });
    expect(JSON.stringify(wire)).not.toContain('secret detail');
    const parsed = SerializedErrorSchema.parse(wire);
    const back = HispError.fromSerialized(parsed);
    expect(back.code).toBe('UNAUTHORIZED');
    expect(back.userFixable).toBe(true);
  });

  it('turns anything thrown into INTERNAL, keeping HispErrors as they are', () => {
    const internal = HispError.from(new TypeError('x is undefined'));
    expect(internal.code).toBe('INTERNAL');
    expect(internal.message).toBe(ERROR_CODES.INTERNAL.description);
    const kept = new HispError('TIMEOUT');
    expect(HispError.from(kept)).toBe(kept);
  });

  it('missingCaseError names the unexpected value', () => {
    expect(missingCaseError('surprise' as never).message).toContain('surprise');
  });
});
