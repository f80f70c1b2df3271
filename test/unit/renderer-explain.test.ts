/** Trust and delivery in plain language (renderer/src/mail/explain.ts). */
import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '../../hisp/api/index.js';
import type { OpenedMessage, RecipientCheck } from '../../hisp/api/index.js';
import {
  deliveryStepLabel,
  explainDeliveryStep,
  explainReason,
  explainRecipientCheck,
  explainTrust,
  recipientStateLabel,
} from '../../renderer/src/mail/explain.js';

const FINGERPRINT = 'ab'.repeat(32);
const CHECKED_AT = '2026-03-01T10:00:00.000Z';

function check(partial: Partial<RecipientCheck> & Pick<RecipientCheck, 'state'>): RecipientCheck {
  return {
    address: 'dr.baker@practice-b.test',
    certificates: [],
    rejected: [],
    problems: [],
    checkedAt: CHECKED_AT,
    ...partial,
  };
}

type Trustable = Pick<OpenedMessage, 'decrypted' | 'verification' | 'summary'>;

function opened(verification: OpenedMessage['verification'], decrypted = true): Trustable {
  return {
    decrypted,
    verification,
    summary: {
      id: 7,
      folder: 'inbox',
      direction: 'in',
      seen: false,
      flagged: false,
      answered: false,
      receivedAt: CHECKED_AT,
      subject: 'Referral',
      sender: 'dr.adams@practice-a.test',
      recipients: ['dr.baker@practice-b.test'],
      snippet: '',
      hasAttachments: false,
      size: 1000,
      trusted: verification.trusted,
    },
  };
}

describe('explainReason', () => {
  it('names the expiry date of the sender’s certificate from the HISP’s sentence', () => {
    const explained = explainReason(
      {
        code: 'CERT_EXPIRED',
        message:
          'The certificate "CN=Dr. Adams" expired on 2026-01-15T00:00:00.000Z (checked at 2026-03-01T10:00:00.000Z).',
      },
      'sender',
    );
    expect(explained.summary).toBe("The sender's certificate expired on 15 January 2026.");
    expect(explained.fix).toContain('renew');
    expect(explained.detail).toContain('CN=Dr. Adams');
    expect(explained.code).toBe('CERT_EXPIRED');
  });

  it('still says the certificate expired when the sentence carries no date', () => {
    const explained = explainReason({ code: 'CERT_EXPIRED', message: 'expired' }, 'recipient');
    expect(explained.summary).toBe("The recipient's certificate has expired.");
  });

  it('says an untrusted organisation is not in the trust bundles, with what to do', () => {
    const explained = explainReason(
      { code: 'CERT_UNTRUSTED', message: 'no path to an anchor' },
      'sender',
    );
    expect(explained.summary).toBe("This sender's organisation is not in your trust bundles.");
    expect(explained.fix).toMatch(/trust anchor or trust bundle/);
  });

  it.each([
    ['CERT_REVOKED', /withdrawn \(revoked\)/],
    ['NOT_SIGNED', /no signature/],
    ['SIGNATURE_INVALID', /changed after it was signed/],
    ['CERT_ADDRESS_MISMATCH', /different address/],
    ['DECRYPT_FAILED', /could not be decrypted/],
    ['NO_MATCHING_RECIPIENT', /not encrypted for any of your current certificates/],
    ['DNS_FAILED', /lookup in DNS failed/],
    ['LDAP_FAILED', /LDAP/],
    ['RELAY_REJECTED', /refused this address/],
    ['RELAY_DEFERRED', /try again later/],
    ['RELAY_CONNECTION', /could not be reached/],
    ['RELAY_TLS_REQUIRED', /no encrypted connection/],
    ['RELAY_AUTH_FAILED', /account name or password/],
    ['RELAY_NO_ROUTE', /names no mail server/],
    ['RELAY_MESSAGE_REFUSED', /refused the message itself/],
    ['DELIVERY_TIMED_OUT', /never confirmed delivery/],
    ['DELIVERY_FAILED', /could not deliver/],
  ] as const)('%s has its own sentence and a fix', (code, summary) => {
    const explained = explainReason({ code, message: 'the HISP’s words' }, 'sender');
    expect(explained.summary).toMatch(summary);
    expect(explained.summary).not.toBe(ERROR_CODES[code].description);
    expect(explained.fix ?? '').not.toBe('');
    expect(explained.detail).toBe('the HISP’s words');
  });

  it('uses the registry’s description for a code without words of its own', () => {
    const explained = explainReason({ code: 'UPSTREAM_AUTH_FAILED', message: '' }, 'sender');
    expect(explained.summary).toBe(ERROR_CODES.UPSTREAM_AUTH_FAILED.description);
    expect(explained.detail).toBeUndefined();
  });

  it('keeps the HISP’s sentence for a code this version does not know', () => {
    const explained = explainReason(
      { code: 'SOMETHING_NEW', message: 'A newer HISP explains itself.' },
      'recipient',
    );
    expect(explained).toEqual({ code: 'SOMETHING_NEW', summary: 'A newer HISP explains itself.' });
    expect(explainReason({ code: 'SOMETHING_NEW', message: '' }, 'recipient').summary).toContain(
      'SOMETHING_NEW',
    );
  });
});

describe('explainRecipientCheck', () => {
  it('explains an address with nothing published, and how to fix it', () => {
    const [first, ...rest] = explainRecipientCheck(check({ state: 'not-found' }));
    expect(first?.summary).toBe(
      'No certificate is published for this address, so nothing can be sent to it.',
    );
    expect(first?.fix).toBe(
      "Ask the recipient for their Direct address or their HISP's certificate publication (DNS or LDAP).",
    );
    expect(rest).toEqual([]);
  });

  it('lists each distinct reason a published certificate was refused', () => {
    const expired = {
      code: 'CERT_EXPIRED' as const,
      message: 'The certificate expired on 2025-12-31T23:59:59.000Z (checked at …).',
    };
    const explained = explainRecipientCheck(
      check({
        state: 'untrusted',
        rejected: [
          { fingerprintSha256: FINGERPRINT, source: 'dns', reason: expired },
          { fingerprintSha256: 'cd'.repeat(32), source: 'ldap', reason: expired },
          {
            fingerprintSha256: 'ef'.repeat(32),
            source: 'ldap',
            reason: { code: 'CERT_UNTRUSTED', message: 'no anchor' },
          },
        ],
      }),
    );
    expect(explained.map((e) => e.code)).toEqual(['UNTRUSTED', 'CERT_EXPIRED', 'CERT_UNTRUSTED']);
    expect(explained[1]?.summary).toBe("The recipient's certificate expired on 31 December 2025.");
    expect(explained[2]?.summary).toBe(
      "This recipient's organisation is not in your trust bundles.",
    );
  });

  it('says a failed lookup leaves the answer unknown, with the lookup problems', () => {
    const explained = explainRecipientCheck(
      check({
        state: 'failed',
        problems: [{ code: 'DNS_FAILED', message: 'REFUSED' }],
      }),
    );
    expect(explained[0]?.summary).toMatch(/not known whether this address can receive/);
    expect(explained[1]?.code).toBe('DNS_FAILED');
  });

  it('names the anchor a found certificate chains to', () => {
    const [found] = explainRecipientCheck(
      check({
        state: 'found',
        certificates: [
          {
            fingerprintSha256: FINGERPRINT,
            subject: 'CN=Dr. Baker',
            notAfter: '2027-01-01T00:00:00.000Z',
            source: 'dns',
            bound: 'address',
            anchor: 'CN=Demo Anchor',
          },
        ],
      }),
    );
    expect(found?.summary).toContain('verified to CN=Demo Anchor');
  });

  it('explains an invalid address', () => {
    expect(explainRecipientCheck(check({ state: 'invalid' }))[0]?.summary).toBe(
      'This is not a valid Direct address.',
    );
  });

  it('labels every state', () => {
    expect(
      (['found', 'untrusted', 'not-found', 'failed', 'invalid'] as const).map(recipientStateLabel),
    ).toEqual(['found', 'untrusted', 'not found', 'lookup failed', 'invalid']);
  });
});

describe('explainTrust', () => {
  it('names the signer and the anchor of a trusted message', () => {
    const statement = explainTrust(
      opened({
        trusted: true,
        signer: 'dr.adams@practice-a.test',
        anchor: 'CN=Sealpost Demo Anchor',
        reasons: [],
      }),
    );
    expect(statement).toEqual({
      trusted: true,
      headline: 'Signed by dr.adams@practice-a.test · verified to CN=Sealpost Demo Anchor',
      reasons: [],
    });
  });

  it('keeps a soft-fail revocation warning on a trusted message', () => {
    const statement = explainTrust(
      opened({
        trusted: true,
        signer: 'dr.adams@practice-a.test',
        anchor: 'CN=Anchor',
        reasons: [{ code: 'REVOCATION_UNKNOWN', message: 'no CRL' }],
      }),
    );
    expect(statement.reasons.map((r) => r.code)).toEqual(['REVOCATION_UNKNOWN']);
  });

  it('says why an untrusted message is not trusted, reason by reason', () => {
    const statement = explainTrust(
      opened({
        trusted: false,
        signer: 'mallory@elsewhere.test',
        reasons: [
          { code: 'CERT_UNTRUSTED', message: 'no anchor' },
          { code: 'CERT_UNTRUSTED', message: 'no anchor' },
        ],
      }),
    );
    expect(statement.trusted).toBe(false);
    expect(statement.headline).toBe(
      'Signed by mallory@elsewhere.test, but the signature is not trusted.',
    );
    expect(statement.reasons.map((r) => r.summary)).toEqual([
      "This sender's organisation is not in your trust bundles.",
    ]);
  });

  it('says a message that could not be decrypted could not be opened', () => {
    const statement = explainTrust(
      opened({ trusted: false, reasons: [{ code: 'DECRYPT_FAILED', message: 'bad key' }] }, false),
    );
    expect(statement.headline).toBe('This message could not be opened.');
    expect(statement.reasons[0]?.summary).toBe(
      'This message could not be decrypted with your key.',
    );
  });
});

describe('delivery steps', () => {
  it('labels each state of the timeline', () => {
    expect(deliveryStepLabel('processed')).toContain('processed');
    expect(deliveryStepLabel('dispatched')).toContain('dispatched');
    expect(deliveryStepLabel('timed-out')).toContain('timed out');
  });

  it('explains a failure or timeout even without a reason, and says nothing for good news', () => {
    expect(explainDeliveryStep({ state: 'timed-out', at: CHECKED_AT })?.code).toBe(
      'DELIVERY_TIMED_OUT',
    );
    expect(explainDeliveryStep({ state: 'failed', at: CHECKED_AT })?.code).toBe('DELIVERY_FAILED');
    expect(
      explainDeliveryStep({
        state: 'failed',
        at: CHECKED_AT,
        reason: { code: 'RELAY_REJECTED', message: '550 no such user' },
      })?.summary,
    ).toBe("The recipient's mail server refused this address.");
    expect(explainDeliveryStep({ state: 'dispatched', at: CHECKED_AT })).toBeUndefined();
  });
});
