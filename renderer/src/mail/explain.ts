/**
 * Trust and delivery in plain language: a registry code (with the HISP's own sentence) becomes
 * what happened and what to do about it, written for the person at the desk rather than for
 * a PKI engineer. Pure functions (no DOM), unit-tested in Node
 * (test/unit/renderer-explain.test.ts).
 *
 * The HISP's sentence is kept as the detail: it names the certificate and dates. The
 * summary here says what that means for this message or recipient; the fix says whose move
 * it is. Codes this version does not know still get the HISP's sentence, never nothing.
 */
import { ERROR_CODES, isErrorCode, missingCaseError } from '../../../hisp/api/index.js';
import type {
  Alert,
  CertificateAlert,
  ComponentStatus,
  ConnectionStep,
  ConnectionTest,
  DeliveryStep,
  OpenedMessage,
  RecipientCheck,
} from '../../../hisp/api/index.js';

/** A reason as the contract carries it: a code (usually from the registry) and a sentence. */
export interface ReasonLike {
  readonly code: string;
  readonly message: string;
}

/** What a reason means, for people. */
export interface Explanation {
  /** The registry code, for support. */
  readonly code: string;
  /** One sentence: what happened. */
  readonly summary: string;
  /** One sentence: what to do about it (absent when there is nothing to do). */
  readonly fix?: string;
  /** The HISP's own sentence (certificate names, dates), when it adds to the summary. */
  readonly detail?: string;
}

/** Whose certificate the reason is about: it changes the words, not the facts. */
export type Party = 'sender' | 'recipient';

/** The first ISO timestamp after "expired on" / "not valid until" in the HISP's sentence. */
function dateIn(message: string, after: RegExp): string | undefined {
  const match = after.exec(message);
  const iso = match?.[1];
  if (iso === undefined) return undefined;
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return undefined;
  return formatDay(new Date(time));
}

/** A calendar day in words, the same on every machine (UTC): "3 March 2026". */
export function formatDay(date: Date): string {
  return date.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

function owner(party: Party): string {
  return party === 'sender' ? "The sender's" : "The recipient's";
}

function organisation(party: Party): string {
  return party === 'sender' ? "This sender's organisation" : "This recipient's organisation";
}

function askThem(party: Party): string {
  return party === 'sender'
    ? 'Ask the sender (or their HISP) to'
    : 'Ask the recipient (or their HISP) to';
}

/** Summary and fix for one code, about the sender's or a recipient's certificate. */
function wordsFor(
  code: string,
  message: string,
  party: Party,
): { summary: string; fix?: string } | undefined {
  switch (code) {
    case 'CERT_EXPIRED': {
      const day = dateIn(message, /expired on (\S+?Z)\b/);
      return {
        summary:
          day === undefined
            ? `${owner(party)} certificate has expired.`
            : `${owner(party)} certificate expired on ${day}.`,
        fix: `${askThem(party)} renew the certificate.`,
      };
    }
    case 'CERT_NOT_YET_VALID': {
      const day = dateIn(message, /not valid until (\S+?Z)\b/);
      return {
        summary:
          day === undefined
            ? `${owner(party)} certificate is not valid yet.`
            : `${owner(party)} certificate is not valid until ${day}.`,
        fix: "Check that this computer's date and time are right; otherwise wait until then.",
      };
    }
    case 'CERT_UNTRUSTED':
      return {
        summary: `${organisation(party)} is not in your trust bundles.`,
        fix: 'If you expect to exchange mail with them, ask your administrator to add their trust anchor or trust bundle.',
      };
    case 'CERT_REVOKED':
      return {
        summary: `${owner(party)} certificate has been withdrawn (revoked) by the authority that issued it.`,
        fix: `${askThem(party)} get a new certificate; do not rely on the old one.`,
      };
    case 'REVOCATION_UNKNOWN':
      return {
        summary: `Whether ${party === 'sender' ? "the sender's" : "the recipient's"} certificate has been withdrawn could not be checked.`,
        fix: 'This is usually temporary (the revocation list could not be fetched). Try again later.',
      };
    case 'CERT_ADDRESS_MISMATCH':
      return {
        summary:
          party === 'sender'
            ? 'The certificate that signed this message belongs to a different address than the sender shown.'
            : 'The certificate published for this address belongs to a different address.',
        fix:
          party === 'sender'
            ? 'Treat the message with care: it may not be from who it says. Contact the sender another way.'
            : "Ask the recipient's HISP to publish the right certificate.",
      };
    case 'CERT_NAME_CONSTRAINTS':
      return {
        summary: `${owner(party)} certificate was issued by an authority that may not certify that address.`,
        fix: `${askThem(party)} use a certificate from their own organisation's authority.`,
      };
    case 'CERT_BAD_SIGNATURE':
    case 'CERT_MALFORMED':
    case 'CERT_NOT_CA':
    case 'CERT_KEY_USAGE':
    case 'CHAIN_INCOMPLETE':
    case 'CERT_WEAK_SIGNATURE':
    case 'WEAK_KEY':
      return {
        summary: `${owner(party)} certificate cannot be used: ${ERROR_CODES[code].description.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase())}.`,
        fix: `${askThem(party)} check their certificate.`,
      };
    case 'NOT_SIGNED':
      return {
        summary: 'This message carries no signature, so there is no proof of who sent it.',
        fix: 'Treat it with care and confirm with the sender another way before acting on it.',
      };
    case 'SIGNATURE_INVALID':
      return {
        summary: 'The signature does not match the message: it was changed after it was signed.',
        fix: 'Do not act on it. Ask the sender to send it again.',
      };
    case 'WEAK_DIGEST':
      return {
        summary:
          'The message was signed with an outdated method (MD5 or SHA-1) that Direct no longer accepts.',
        fix: "Ask the sender's HISP to update their software.",
      };
    case 'DECRYPT_FAILED':
      return {
        summary: 'This message could not be decrypted with your key.',
        fix: 'The sender may be using an old certificate of yours. Ask them to send it again.',
      };
    case 'NO_MATCHING_RECIPIENT':
      return {
        summary: 'This message was not encrypted for any of your current certificates.',
        fix: 'The sender may have an old certificate of yours. Ask them to look up your address again and resend.',
      };
    case 'ROUTING_MISMATCH':
      return {
        summary: 'The addresses on the envelope do not match the addresses inside the message.',
        fix: 'Treat it with care: this can mean tampering. Confirm with the sender another way.',
      };
    case 'DNS_FAILED':
      return {
        summary:
          'The certificate lookup in DNS failed, so nothing is known about this address yet.',
        fix: 'Check the network connection and try again; if it keeps failing, ask your administrator to check the DNS setting.',
      };
    case 'LDAP_FAILED':
      return {
        summary: "The recipient's certificate directory (LDAP) could not be searched.",
        fix: 'Try again later; if it keeps failing, ask the recipient which address their HISP publishes certificates at.',
      };
    case 'FETCH_FAILED':
      return {
        summary: 'A certificate or revocation list could not be downloaded.',
        fix: 'Check the network connection and try again later.',
      };
    case 'RELAY_REJECTED':
      return {
        summary: "The recipient's mail server refused this address.",
        fix: 'Check the address for typing mistakes, or ask the recipient for their Direct address.',
      };
    case 'RELAY_DEFERRED':
      return {
        summary: 'The mail server asked Sealpost to try again later.',
        fix: 'Nothing to do: Sealpost keeps retrying.',
      };
    case 'RELAY_CONNECTION':
      return {
        summary: 'The mail server could not be reached.',
        fix: 'Nothing to do for now: Sealpost keeps retrying. If it lasts, check the network connection.',
      };
    case 'RELAY_TLS_REQUIRED':
      return {
        summary:
          'The mail server offers no encrypted connection, so Sealpost did not send through it.',
        fix: 'Ask your administrator to check the relay settings.',
      };
    case 'RELAY_AUTH_FAILED':
      return {
        summary: 'The relay refused the account name or password.',
        fix: 'Ask your administrator to check the relay account.',
      };
    case 'RELAY_NO_ROUTE':
      return {
        summary: "The recipient's domain names no mail server, so the message cannot be delivered.",
        fix: 'Check the address for typing mistakes, or ask the recipient for their Direct address.',
      };
    case 'RELAY_MESSAGE_REFUSED':
      return {
        summary: 'The mail server refused the message itself (for example, it was too large).',
        fix: 'Try sending it again with smaller or fewer attachments.',
      };
    case 'DELIVERY_TIMED_OUT':
      return {
        summary: "The recipient's HISP never confirmed delivery in the time allowed.",
        fix: 'Delivery cannot be confirmed: contact the recipient another way, or send it again.',
      };
    case 'DELIVERY_FAILED':
      return {
        summary: "The recipient's HISP reported that it could not deliver the message.",
        fix: 'Contact the recipient another way, or check the address and send it again.',
      };
    case 'IDENTITY_NOT_FOUND':
      return {
        summary: 'This profile has no Direct certificate for that sending address.',
        fix: 'Choose another From address, or import the certificate in Settings.',
      };
    case 'LIMIT_EXCEEDED':
      return {
        summary: 'It is larger than Sealpost accepts.',
        fix: 'Split it into smaller messages.',
      };
    default:
      return undefined;
  }
}

/**
 * One reason in words. Registry codes without words of their own use the registry's
 * description; an unknown code keeps the HISP's sentence as its summary.
 */
export function explainReason(reason: ReasonLike, party: Party): Explanation {
  const words = wordsFor(reason.code, reason.message, party);
  if (words !== undefined) {
    return {
      code: reason.code,
      summary: words.summary,
      ...(words.fix === undefined ? {} : { fix: words.fix }),
      ...(reason.message === '' ? {} : { detail: reason.message }),
    };
  }
  if (isErrorCode(reason.code)) {
    const description = ERROR_CODES[reason.code].description;
    return {
      code: reason.code,
      summary: description,
      ...(reason.message === '' || reason.message === description
        ? {}
        : { detail: reason.message }),
    };
  }
  return {
    code: reason.code,
    summary: reason.message === '' ? `The HISP reported ${reason.code}.` : reason.message,
  };
}

/** The short label of a recipient check's state, as the compose window's chip shows it. */
export function recipientStateLabel(state: RecipientCheck['state']): string {
  switch (state) {
    case 'found':
      return 'found';
    case 'untrusted':
      return 'untrusted';
    case 'not-found':
      return 'not found';
    case 'failed':
      return 'lookup failed';
    case 'invalid':
      return 'invalid';
    default:
      throw missingCaseError(state);
  }
}

/**
 * Why a recipient can or cannot get the message: one explanation for the state, then one
 * per rejected certificate or lookup problem.
 */
export function explainRecipientCheck(check: RecipientCheck): Explanation[] {
  switch (check.state) {
    case 'found': {
      const [first] = check.certificates;
      const anchor = first?.anchor;
      return [
        {
          code: 'FOUND',
          summary:
            anchor === undefined
              ? 'A trusted certificate is published for this address: the message will be encrypted for it.'
              : `A trusted certificate is published for this address (verified to ${anchor}): the message will be encrypted for it.`,
        },
      ];
    }
    case 'not-found':
      return [
        {
          code: 'NOT_FOUND',
          summary: 'No certificate is published for this address, so nothing can be sent to it.',
          fix: "Ask the recipient for their Direct address or their HISP's certificate publication (DNS or LDAP).",
        },
      ];
    case 'invalid':
      return [
        {
          code: 'INVALID',
          summary: 'This is not a valid Direct address.',
          fix: 'A Direct address looks like name@direct.example.org. Check it for typing mistakes.',
        },
      ];
    case 'untrusted': {
      const reasons = dedupe(check.rejected.map((r) => explainReason(r.reason, 'recipient')));
      return [
        {
          code: 'UNTRUSTED',
          summary:
            'Certificates are published for this address, but none can be trusted, so nothing can be sent to it.',
        },
        ...reasons,
      ];
    }
    case 'failed': {
      const reasons = dedupe(check.problems.map((p) => explainReason(p, 'recipient')));
      return [
        {
          code: 'LOOKUP_FAILED',
          summary:
            'The certificate lookup failed, so it is not known whether this address can receive Direct mail.',
          fix: 'Try again in a moment.',
        },
        ...reasons,
      ];
    }
    default:
      throw missingCaseError(check.state);
  }
}

/** Drop explanations that say the same thing twice (several certificates, one reason). */
function dedupe(list: readonly Explanation[]): Explanation[] {
  const seen = new Set<string>();
  return list.filter((item) => {
    const key = `${item.code}\u0000${item.summary}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** What the trust banner of the reading pane says. */
export interface TrustStatement {
  readonly trusted: boolean;
  /** "Signed by … · verified to …", or why the message is not trusted. */
  readonly headline: string;
  /** Each reason, explained (warnings for a trusted message, problems for an untrusted one). */
  readonly reasons: readonly Explanation[];
}

/** Codes that leave a message trusted but are worth a word (soft-fail revocation). */
const WARNING_ONLY = new Set(['REVOCATION_UNKNOWN', 'CERT_SHA1_SIGNATURE']);

/** The trust banner's words for an opened message. */
export function explainTrust(
  message: Pick<OpenedMessage, 'decrypted' | 'verification' | 'summary'>,
): TrustStatement {
  const { verification, decrypted } = message;
  const reasons = dedupe(verification.reasons.map((r) => explainReason(r, 'sender')));
  if (!decrypted) {
    return {
      trusted: false,
      headline: 'This message could not be opened.',
      reasons,
    };
  }
  if (verification.trusted) {
    const signer = verification.signer ?? verification.signerSubject ?? 'the sender';
    const anchor = verification.anchor;
    return {
      trusted: true,
      headline:
        anchor === undefined
          ? `Signed by ${signer}`
          : `Signed by ${signer} · verified to ${anchor}`,
      reasons: reasons.filter((r) => WARNING_ONLY.has(r.code)),
    };
  }
  return {
    trusted: false,
    headline:
      verification.signer === undefined
        ? 'The sender of this message could not be verified.'
        : `Signed by ${verification.signer}, but the signature is not trusted.`,
    reasons,
  };
}

/** A delivery step in words, for the per-recipient timeline. */
export function deliveryStepLabel(state: DeliveryStep['state']): string {
  switch (state) {
    case 'queued':
      return 'Queued';
    case 'relayed':
      return 'Handed to the mail server';
    case 'retrying':
      return 'Retrying';
    case 'failed':
      return 'Failed';
    case 'processed':
      return "Received by the recipient's HISP (processed)";
    case 'dispatched':
      return 'Delivered to the recipient (dispatched)';
    case 'timed-out':
      return 'No confirmation in time (timed out)';
    case 'late':
      return 'Confirmation arrived late';
    default:
      throw missingCaseError(state);
  }
}

/** A delivery step's reason in words, with the default sentence for failures without one. */
export function explainDeliveryStep(step: DeliveryStep): Explanation | undefined {
  if (step.reason !== undefined) return explainReason(step.reason, 'recipient');
  if (step.state === 'timed-out') {
    return explainReason({ code: 'DELIVERY_TIMED_OUT', message: '' }, 'recipient');
  }
  if (step.state === 'failed') {
    return explainReason({ code: 'DELIVERY_FAILED', message: '' }, 'recipient');
  }
  return undefined;
}

/** A HISP alert (not tied to one message) in words: a headline by kind, the HISP's sentence. */
export function explainAlert(alert: Pick<Alert, 'kind' | 'message'>): Explanation {
  switch (alert.kind) {
    case 'silence':
      return {
        code: 'silence',
        summary: 'No Direct mail has arrived for longer than usual.',
        fix: 'Mail may be going astray: ask your IT staff to check the mail server settings.',
        ...(alert.message === '' ? {} : { detail: alert.message }),
      };
    case 'relay':
      return {
        code: 'relay',
        summary: 'Sealpost cannot hand mail to the outgoing mail server.',
        fix: 'Messages wait in the Outbox and are sent once it works again; tell your IT staff if this lasts.',
        ...(alert.message === '' ? {} : { detail: alert.message }),
      };
    default:
      throw missingCaseError(alert.kind);
  }
}

/**
 * A `certificateAlert` in words: many certificates of one domain failed their checks in a
 * short time, which is what a spoofed lookup or a broken certificate authority looks like.
 * The most frequent reason is explained as well.
 */
export function explainCertificateAlert(
  alert: Pick<CertificateAlert, 'domain' | 'count' | 'windowMs' | 'reasons'>,
): Explanation {
  const minutes = Math.max(1, Math.round(alert.windowMs / 60_000));
  const top = [...alert.reasons].sort((a, b) => b.count - a.count)[0];
  const why =
    top === undefined ? undefined : explainReason({ code: top.code, message: '' }, 'recipient');
  return {
    code: 'certificateAlert',
    summary: `${alert.count} certificates for ${alert.domain} failed their checks in ${minutes} min.`,
    fix: 'Someone may be interfering with the certificate lookups, or their certificate authority is broken: do not send to this domain until your administrator has looked at it.',
    ...(why === undefined ? {} : { detail: `Most common reason: ${why.summary}` }),
  };
}

/**
 * An error of a settings call or of unlocking in words: what went wrong and what to do. The
 * registry's description is the summary; the HISP's own sentence stays as the detail when
 * it adds something (the OpenSSL commands for a legacy PKCS#12 file, a certificate's name).
 */
export function explainSettingsError(error: ReasonLike): Explanation {
  const detail = (summary: string): { detail?: string } =>
    error.message === '' || error.message === summary ? {} : { detail: error.message };
  const known = (summary: string, fix: string): Explanation => ({
    code: error.code,
    summary,
    fix,
    ...detail(summary),
  });
  switch (error.code) {
    case 'VAULT_BAD_PASSPHRASE':
      return known(
        ERROR_CODES.VAULT_BAD_PASSPHRASE.description,
        'Type the passphrase again, minding upper and lower case. Your IT staff cannot recover a lost passphrase, only restore the profile from a backup.',
      );
    case 'PKCS12_BAD_PASSWORD':
      return known(
        'That password does not open this certificate file.',
        'Type the password you were given with the .p12 or .pfx file again. If you do not have it, ask whoever issued the certificate.',
      );
    case 'PKCS12_UNSUPPORTED':
      return known(
        'This certificate file uses an old kind of encryption that Sealpost does not read.',
        'Ask your IT staff to convert it with OpenSSL (the commands are below), then import the converted file.',
      );
    case 'PKCS12_MALFORMED':
      return known(
        ERROR_CODES.PKCS12_MALFORMED.description,
        'Check that you picked the right file (a .p12 or .pfx with the private key), or ask for it again.',
      );
    case 'PROFILE_LOCKED':
      return known(ERROR_CODES.PROFILE_LOCKED.description, 'Unlock Sealpost, then try again.');
    default:
      return explainReason(error, 'sender');
  }
}

// ── Settings › Mail server: "Test connection" ──────────────────────────────────────────────

/**
 * The account a status component stands for, when it can be tested: the relay or the
 * upstream mailbox, configured (a component that is 'off' is not configured, or the profile
 * is locked, and then there is nothing to test).
 */
export function connectionTestTarget(
  component: Pick<ComponentStatus, 'name' | 'state'>,
): ConnectionTest['target'] | undefined {
  if (component.state === 'off') return undefined;
  return component.name === 'relay' || component.name === 'upstream' ? component.name : undefined;
}

/** What a step of a connection test checks, in words. */
export function connectionStepLabel(step: ConnectionStep['step']): string {
  switch (step) {
    case 'connect':
      return 'Reach the server';
    case 'tls':
      return 'Encrypted connection (TLS)';
    case 'auth':
      return 'Log in';
    case 'mailbox':
      return 'Open the mailbox';
    default:
      throw missingCaseError(step);
  }
}

/** A connection test in words: a headline, each step, and why it failed. */
export interface ConnectionTestStatement {
  readonly ok: boolean;
  readonly headline: string;
  readonly steps: readonly {
    readonly step: ConnectionStep['step'];
    readonly label: string;
    readonly ok: boolean;
    readonly detail?: string;
  }[];
  /** Why it failed, for people (ok false). */
  readonly reason?: Explanation;
}

/**
 * Words for a failed test. The fix: the account's settings are the thing to check, and
 * "Sealpost keeps retrying" (true of a queued message) is no answer to a test. The upstream
 * codes also get a summary of their own (the registry's description covers IMAP and SMTP).
 */
const TEST_WORDS: Readonly<Record<string, { readonly summary?: string; readonly fix: string }>> = {
  RELAY_CONNECTION: {
    fix: 'Check the relay host name and port in Settings › Mail server and preferences (or the configuration file) and that the server is running; a firewall may block the port.',
  },
  RELAY_TLS_REQUIRED: {
    fix: 'Sealpost only sends through an encrypted connection with a trusted certificate: check the relay’s TLS mode ("starttls" or "implicit"), its port and its certificate ("ca").',
  },
  RELAY_AUTH_FAILED: {
    fix: 'Check the relay account name and password in Settings › Mail server and preferences (or the configuration file).',
  },
  RELAY_REJECTED: {
    fix: 'The relay refused the session: ask the mail provider whether this account may send.',
  },
  RELAY_DEFERRED: {
    fix: 'The relay is busy or limiting connections: try the test again in a few minutes.',
  },
  UPSTREAM_UNAVAILABLE: {
    summary: 'The mail account Sealpost collects Direct mail from could not be reached or opened.',
    fix: 'Check the upstream host name, port and mailbox in Settings › Mail server and preferences (or the configuration file) and that the server is running.',
  },
  UPSTREAM_TLS_REQUIRED: {
    summary:
      'The mail account’s server offered no trusted encrypted connection, so Sealpost did not log in.',
    fix: 'Sealpost only logs in over an encrypted connection with a trusted certificate: check the upstream TLS mode ("starttls" or "implicit"), its port and its certificate ("ca").',
  },
  UPSTREAM_AUTH_FAILED: {
    summary: 'The mail account’s server refused the account name or password.',
    fix: 'Check the upstream account name and password in Settings › Mail server and preferences (or the configuration file).',
  },
  MAIL_NOT_CONFIGURED: {
    summary: 'There is no server to test here.',
    fix: 'Set up the relay and upstream accounts in Settings › Mail server and preferences (or the configuration file).',
  },
};

/** The result of `testConnection` in words. */
export function explainConnectionTest(result: ConnectionTest): ConnectionTestStatement {
  const what = result.target === 'relay' ? 'the relay' : 'the upstream mailbox';
  const steps = result.steps.map((s) => ({
    step: s.step,
    label: connectionStepLabel(s.step),
    ok: s.ok,
    ...(s.detail === undefined ? {} : { detail: s.detail }),
  }));
  const server = result.server === undefined ? '' : ` (${result.server})`;
  if (result.ok) {
    return {
      ok: true,
      headline: `Sealpost can reach ${what}${server}: every step worked.`,
      steps,
    };
  }
  const reason = result.reason;
  if (reason === undefined) {
    return { ok: false, headline: `The test of ${what}${server} failed.`, steps };
  }
  if (result.steps.length === 0) {
    // Nothing was tried (not configured, or no single server): the HISP's sentence says why.
    return {
      ok: false,
      headline: `There is nothing to test for ${what}.`,
      steps,
      reason: { code: reason.code, summary: reason.message },
    };
  }
  const general = explainReason(reason, 'recipient');
  const words = TEST_WORDS[reason.code];
  const fix = words?.fix ?? general.fix;
  const failed = steps.find((s) => !s.ok);
  return {
    ok: false,
    headline:
      failed === undefined
        ? `The test of ${what}${server} failed.`
        : `The test of ${what}${server} failed at “${failed.label}”.`,
    steps,
    reason: {
      code: general.code,
      summary: words?.summary ?? general.summary,
      ...(fix === undefined ? {} : { fix }),
      ...(general.detail === undefined ? {} : { detail: general.detail }),
    },
  };
}
