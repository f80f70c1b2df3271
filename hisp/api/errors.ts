/**
 * The registry of stable error codes. Every error that crosses the API contract, the bridge
 * or the command line carries one of these codes. A code is never renamed or reused: the UI,
 * support scripts and IT tooling key on it. `userFixable` says whether the person at the desk
 * (or their IT staff) can fix it — the UI shows the description and a fix — or whether it is
 * a bug in Sealpost, which the UI reports as such.
 */
export interface ErrorCodeInfo {
  readonly description: string;
  readonly userFixable: boolean;
}

export const ERROR_CODES = {
  BAD_REQUEST: {
    description: 'The request did not match the API contract.',
    userFixable: false,
  },
  BAD_RESPONSE: {
    description: 'The HISP answered with data that did not match the API contract.',
    userFixable: false,
  },
  UNKNOWN_METHOD: {
    description: 'The request named a call that the HISP does not offer.',
    userFixable: false,
  },
  INTERNAL: {
    description: 'An unexpected error inside the HISP.',
    userFixable: false,
  },
  CANCELLED: {
    description: 'The call was cancelled before it finished.',
    userFixable: false,
  },
  TIMEOUT: {
    description: 'The HISP did not answer in time.',
    userFixable: false,
  },
  CHANNEL_CLOSED: {
    description: 'The connection between the mail window and the HISP was closed.',
    userFixable: false,
  },
  UNAUTHORIZED: {
    description:
      'The request carried no valid access token. Open Sealpost from the address it printed, which includes the token.',
    userFixable: true,
  },
  FORBIDDEN_ORIGIN: {
    description: 'The request came from a web page that is not Sealpost, so it was refused.',
    userFixable: true,
  },
  FORBIDDEN_HOST: {
    description:
      'The request named a host other than this computer (127.0.0.1 or localhost), so it was refused.',
    userFixable: true,
  },
  PAYLOAD_TOO_LARGE: {
    description: 'The request was larger than the HISP accepts.',
    userFixable: false,
  },
  NOT_FOUND: {
    description: 'No such address on the HISP bridge.',
    userFixable: false,
  },
  USAGE: {
    description: 'The command line was not understood. Run the command with --help.',
    userFixable: true,
  },
  ADDRESS_IN_USE: {
    description:
      'The port asked for is already in use. Choose another port or stop the other program.',
    userFixable: true,
  },
  NOT_LOOPBACK: {
    description:
      'The HISP bridge only listens on this computer (127.0.0.1, ::1 or localhost); another address was asked for.',
    userFixable: true,
  },

  // ── Security agent: message structure (inbound and outbound) ─────────────────────────────
  LIMIT_EXCEEDED: {
    description:
      'The message is larger, more deeply nested or has more parts than Sealpost accepts. Ask the sender to split it.',
    userFixable: true,
  },
  MIME_MALFORMED: {
    description: 'The message is not well-formed MIME. Ask the sender to send it again.',
    userFixable: true,
  },
  NOT_SMIME: {
    description:
      'The message is not signed and encrypted with S/MIME, so it is not a Direct message and was not accepted.',
    userFixable: true,
  },
  CMS_MALFORMED: {
    description:
      'The signed or encrypted part of the message is damaged or not valid CMS. Ask the sender to send it again.',
    userFixable: true,
  },
  UNSUPPORTED_ALGORITHM: {
    description:
      'The message uses an encryption or signature algorithm that Direct does not allow.',
    userFixable: true,
  },
  NO_MATCHING_RECIPIENT: {
    description:
      'The message is not encrypted to any certificate whose private key this HISP holds. The sender may be using an old certificate of yours.',
    userFixable: true,
  },
  DECRYPT_FAILED: {
    description:
      "The message could not be decrypted with this HISP's key: it was encrypted to another key or damaged on the way.",
    userFixable: true,
  },
  NOT_SIGNED: {
    description: 'The decrypted message carries no signature, so its sender cannot be verified.',
    userFixable: true,
  },
  SIGNATURE_INVALID: {
    description:
      'The signature does not match the message: it was altered or damaged after it was signed.',
    userFixable: true,
  },
  WEAK_DIGEST: {
    description: 'The signature uses MD5 or SHA-1, which Direct no longer accepts.',
    userFixable: true,
  },
  ROUTING_MISMATCH: {
    description:
      'The envelope sender or recipients do not match the From, To or Cc inside the message, which can mean tampering.',
    userFixable: true,
  },
  IDENTITY_MISMATCH: {
    description:
      'The signing certificate does not belong to the From address (or its domain), so the message cannot be signed with it.',
    userFixable: true,
  },

  // ── Security agent: certificates and trust ───────────────────────────────────────────────
  CERT_MALFORMED: {
    description: 'A certificate could not be read (it is neither valid PEM nor DER X.509).',
    userFixable: true,
  },
  KEY_MALFORMED: {
    description:
      'A private key could not be read (it is neither valid PEM nor DER PKCS#8, PKCS#1 or SEC1).',
    userFixable: true,
  },
  KEY_CERT_MISMATCH: {
    description: 'The private key does not belong to the certificate it was given with.',
    userFixable: true,
  },
  PKCS12_BAD_PASSWORD: {
    description:
      'The PKCS#12 file could not be opened with this password (or its integrity check failed).',
    userFixable: true,
  },
  PKCS12_UNSUPPORTED: {
    description:
      'The PKCS#12 file uses an old encryption (such as RC2) that Sealpost does not read. Convert it with OpenSSL; the error message gives the commands.',
    userFixable: true,
  },
  PKCS12_MALFORMED: {
    description: 'The PKCS#12 file is damaged or holds no private key with its certificate.',
    userFixable: true,
  },
  WEAK_KEY: {
    description:
      "A certificate's key is too weak for Direct (RSA keys must be at least 2048 bits).",
    userFixable: true,
  },
  CERT_WEAK_SIGNATURE: {
    description:
      'A certificate in the chain is signed with MD5 or SHA-1, which Direct no longer accepts.',
    userFixable: true,
  },
  CERT_SHA1_SIGNATURE: {
    description:
      'A certificate in the chain is signed with SHA-1. This HISP is configured to accept that for legacy trust domains; DirectTrust requires SHA-256 for new certificates.',
    userFixable: true,
  },
  CERT_BAD_SIGNATURE: {
    description: 'A certificate in the chain carries a signature that does not verify.',
    userFixable: true,
  },
  CERT_EXPIRED: {
    description:
      'A certificate in the chain has expired. The sender (or their HISP) must renew it.',
    userFixable: true,
  },
  CERT_NOT_YET_VALID: {
    description:
      "A certificate in the chain is not valid yet. Check this computer's clock, or wait.",
    userFixable: true,
  },
  CERT_REVOKED: {
    description: 'A certificate in the chain has been revoked by its issuer.',
    userFixable: true,
  },
  REVOCATION_UNKNOWN: {
    description:
      'The revocation status of a certificate could not be checked (its CRL could not be fetched, or is stale).',
    userFixable: true,
  },
  CERT_UNTRUSTED: {
    description:
      "The certificate does not chain to any trust anchor configured for this domain. The sender's organisation is not in your trust bundles.",
    userFixable: true,
  },
  CHAIN_INCOMPLETE: {
    description:
      'An intermediate certificate is missing and could not be fetched from the address the certificate names.',
    userFixable: true,
  },
  CERT_ADDRESS_MISMATCH: {
    description:
      "The certificate does not belong to the sender's Direct address or its domain (its subject alternative names do not match).",
    userFixable: true,
  },
  CERT_KEY_USAGE: {
    description:
      'A certificate is not allowed to be used this way (its key usage or extended key usage forbids it).',
    userFixable: true,
  },
  CERT_NOT_CA: {
    description:
      'A certificate in the chain that issues others is not marked as a certificate authority.',
    userFixable: true,
  },
  DNS_FAILED: {
    description:
      'A DNS lookup for certificates or servers failed (no answer, a timeout, or a broken reply). Check the DNS server setting.',
    userFixable: true,
  },
  LDAP_FAILED: {
    description:
      "The recipient's LDAP directory could not be searched (no server answered, or the search failed).",
    userFixable: true,
  },
  FETCH_FAILED: {
    description: 'A certificate or revocation list could not be fetched over HTTP.',
    userFixable: true,
  },
  BUNDLE_MALFORMED: {
    description:
      'A trust bundle could not be read: it is not a PKCS#7 certificate bundle (.p7b, DER or PEM).',
    userFixable: true,
  },
  BUNDLE_SIGNATURE_INVALID: {
    description:
      'A signed trust bundle failed its signature check: it was changed after it was signed, so it was not used.',
    userFixable: true,
  },
  BUNDLE_SIGNER_UNTRUSTED: {
    description:
      "A signed trust bundle was signed by a certificate that is not the bundle's configured signer, so it was not used.",
    userFixable: true,
  },
  ANCHOR_NOT_FOUND: {
    description: 'No trust anchor or trust bundle matches what was named.',
    userFixable: true,
  },
  KEYCHAIN_UNAVAILABLE: {
    description:
      "The system keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) cannot be reached. On a server without one, choose the passphrase vault in the profile's settings.",
    userFixable: true,
  },
  KEYCHAIN_LOCKED: {
    description:
      'The system keychain is locked. Unlock it (log in to the desktop session) and try again.',
    userFixable: true,
  },
  KEYCHAIN_DENIED: {
    description: 'The system keychain refused Sealpost access to its entry.',
    userFixable: true,
  },
  KEYCHAIN_ENTRY_MISSING: {
    description:
      "The profile's key is not in the system keychain (it was deleted, or this is another user or machine). Restore the profile from an export.",
    userFixable: true,
  },
  VAULT_BAD_PASSPHRASE: {
    description: "The passphrase does not open this profile's vault.",
    userFixable: true,
  },
  PROFILE_NOT_FOUND: {
    description:
      'There is no Sealpost profile in that directory. Create one with `sealpost profile init`.',
    userFixable: true,
  },
  PROFILE_EXISTS: {
    description: 'A Sealpost profile already exists in that directory.',
    userFixable: true,
  },
  STORE_WRONG_KEY: {
    description:
      "The profile's database does not open with the profile's key (the key in the keychain or vault belongs to another profile).",
    userFixable: true,
  },
  STORE_CORRUPT: {
    description:
      "The profile's database is damaged or was altered outside Sealpost, so it was not used. Restore it from an export.",
    userFixable: true,
  },
  STORE_TOO_NEW: {
    description:
      "The profile's database was written by a newer version of Sealpost. Update Sealpost to open it.",
    userFixable: true,
  },
  AUDIT_CHAIN_BROKEN: {
    description:
      "The audit log's hash chain does not verify: an entry was changed, removed or inserted outside Sealpost.",
    userFixable: true,
  },
  PROFILE_LOCKED: {
    description: 'The profile is locked. Unlock it to continue.',
    userFixable: true,
  },
  EXPORT_BAD_PASSPHRASE: {
    description:
      'The passphrase does not open this profile export (or the export file was altered).',
    userFixable: true,
  },
  EXPORT_MALFORMED: {
    description: 'The file is not a Sealpost profile export, or it is damaged or incomplete.',
    userFixable: true,
  },
  MESSAGE_NOT_FOUND: {
    description: 'The message is not in the mailbox (it may have been deleted).',
    userFixable: true,
  },
  IDENTITY_NOT_FOUND: {
    description:
      'No Direct identity (certificate and private key) of this profile matches. Import one with `sealpost profile import-key`.',
    userFixable: true,
  },
  UPSTREAM_UNAVAILABLE: {
    description:
      'The mail server (IMAP or SMTP relay) could not be reached or broke the connection. Sealpost keeps trying.',
    userFixable: true,
  },
  UPSTREAM_TLS_REQUIRED: {
    description:
      "The mail server did not offer an encrypted connection, or its certificate was not trusted, so nothing was sent to it. Check the account's server settings.",
    userFixable: true,
  },
  UPSTREAM_AUTH_FAILED: {
    description: 'The mail server refused the account name or password.',
    userFixable: true,
  },
  CERT_NAME_CONSTRAINTS: {
    description:
      "A certificate names an address or domain that its issuing authority is not allowed to certify (the authority's name constraints exclude it).",
    userFixable: true,
  },
  RELAY_REJECTED: {
    description:
      "The recipient's mail server (or the relay) permanently refused the recipient. Check the address.",
    userFixable: true,
  },
  RELAY_DEFERRED: {
    description:
      'The mail server asked to try again later. Sealpost keeps retrying with increasing pauses.',
    userFixable: false,
  },
  RELAY_TLS_REQUIRED: {
    description:
      'The mail server does not offer an encrypted connection (TLS), so Sealpost did not send through it.',
    userFixable: true,
  },
  RELAY_AUTH_FAILED: {
    description: 'The relay server refused the account name or password.',
    userFixable: true,
  },
  RELAY_CONNECTION: {
    description:
      'The mail server could not be reached, or the connection broke. Sealpost keeps retrying.',
    userFixable: false,
  },
  RELAY_NO_ROUTE: {
    description:
      "The recipient's domain names no mail server (no MX or address record), so the message cannot be delivered.",
    userFixable: true,
  },
  RELAY_MESSAGE_REFUSED: {
    description: 'The mail server refused the message itself (for example, it is too large).',
    userFixable: true,
  },
  DELIVERY_TIMED_OUT: {
    description:
      "No delivery notification came back from the recipient's HISP in the time allowed, so delivery cannot be confirmed.",
    userFixable: true,
  },
  MAIL_NOT_CONFIGURED: {
    description:
      'That part of the mail set-up (a relay, or an upstream mailbox) is not configured, so there is nothing to use or test. Set it up in Settings › Mail server and preferences (or in the configuration file Sealpost was started with).',
    userFixable: true,
  },
  DELIVERY_FAILED: {
    description:
      "The recipient's HISP reported that it could not deliver the message to the recipient.",
    userFixable: true,
  },
  SETTING_MANAGED: {
    description:
      "Your organisation's policy sets this and does not allow it to be changed here. Ask your IT staff.",
    userFixable: true,
  },
  SETTING_INVALID: {
    description:
      'A setting was refused: a value is missing, out of range or does not fit with the others (for example an account name with no password).',
    userFixable: true,
  },
  SETTING_IN_CONFIG_FILE: {
    description:
      'This is set in the configuration file Sealpost was started with, so it is changed there, not here.',
    userFixable: true,
  },
  STORE_FULL: {
    description:
      'The disk that holds the profile is full, so nothing was saved and nothing was changed. Free some space and try again.',
    userFixable: true,
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The wire form of an error: what crosses the channel, the bridge and `--report` files. */
export interface SerializedError {
  readonly name: 'HispError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly userFixable: boolean;
}

/**
 * An error with a registry code. `message` is for people and must never hold message
 * content or secrets; `cause` stays on this side of the channel and is never serialised.
 */
export class HispError extends Error {
  override readonly name = 'HispError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].description, options);
    this.code = code;
  }

  get userFixable(): boolean {
    return ERROR_CODES[this.code].userFixable;
  }

  toJSON(): SerializedError {
    return {
      name: 'HispError',
      code: this.code,
      message: this.message,
      userFixable: this.userFixable,
    };
  }

  static fromSerialized(error: SerializedError): HispError {
    return new HispError(error.code, error.message);
  }

  /** Any thrown value as a HispError: HispErrors pass through, anything else is INTERNAL. */
  static from(error: unknown): HispError {
    if (error instanceof HispError) return error;
    return new HispError('INTERNAL', undefined, { cause: error });
  }
}

/** One reason in a trust decision or verification result (e.g. `smime decrypt --report`). */
export interface Reason {
  readonly code: ErrorCode;
  readonly message: string;
}

/** For exhaustive switches: a value the type system says cannot exist. */
export function missingCaseError(value: never): Error {
  return new Error(`Unhandled case: ${String(value)}`);
}
