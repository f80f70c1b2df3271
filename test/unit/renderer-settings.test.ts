/**
 * The settings screens' and the lock screen's pure logic: renderer/src/settings/model.ts,
 * renderer/src/lock/profileLock.ts and the alert and settings-error words of
 * renderer/src/mail/explain.ts.
 */
import { describe, expect, it } from 'vitest';

import { ERROR_CODES } from '../../hisp/api/index.js';
import type { Status } from '../../hisp/api/index.js';
import {
  canLock,
  keySourceIn,
  rememberKeySource,
  unlockParams,
} from '../../renderer/src/lock/profileLock.js';
import {
  explainAlert,
  explainCertificateAlert,
  explainSettingsError,
} from '../../renderer/src/mail/explain.js';
import {
  anchorOrigin,
  auditFilterParams,
  certificatesText,
  chainState,
  directionLabel,
  domainLabel,
  EMPTY_AUDIT_FILTER,
  safeDownloadName,
  shortFingerprint,
} from '../../renderer/src/settings/model.js';

function status(state: Status['state'], components: Status['components']): Status {
  return {
    product: 'sealpost',
    version: '0.0.0',
    state,
    mode: 'server',
    profile: { name: 'clinic', throwaway: false },
    startedAt: '2026-03-01T10:00:00.000Z',
    uptimeMs: 1000,
    components,
  };
}

const VAULT = status('ready', [
  { name: 'profile', state: 'ok', detail: 'unlocked (key in the passphrase vault)' },
]);
const KEYCHAIN = status('ready', [
  {
    name: 'profile',
    state: 'ok',
    detail: 'unlocked (key in the system keychain); locks after 15 min idle',
  },
]);
const LOCKED = status('locked', [{ name: 'profile', state: 'off', detail: 'locked' }]);
const DEMO = status('ready', [{ name: 'mail', state: 'ok' }]);

describe('profile lock (what the status tells)', () => {
  it('reads the key source from an unlocked profile and keeps it across a lock', () => {
    expect(keySourceIn(VAULT)).toBe('vault');
    expect(keySourceIn(KEYCHAIN)).toBe('keychain');
    expect(keySourceIn(LOCKED)).toBe('unknown');
    expect(rememberKeySource('unknown', VAULT)).toBe('vault');
    expect(rememberKeySource('vault', LOCKED)).toBe('vault');
    expect(rememberKeySource('keychain', LOCKED)).toBe('keychain');
    expect(rememberKeySource('unknown', LOCKED)).toBe('unknown');
  });

  it('offers locking only where there is a profile session', () => {
    expect(canLock(VAULT)).toBe(true);
    expect(canLock(LOCKED)).toBe(true);
    expect(canLock(DEMO)).toBe(false);
    expect(canLock(undefined)).toBe(false);
  });

  it('sends a passphrase only for a vault or an unknown profile with one typed', () => {
    expect(unlockParams('keychain', 'typed anyway')).toEqual({});
    expect(unlockParams('vault', 'secret')).toEqual({ passphrase: 'secret' });
    expect(unlockParams('unknown', 'secret')).toEqual({ passphrase: 'secret' });
    expect(unlockParams('unknown', '')).toEqual({});
  });
});

describe('settings words', () => {
  it('shortens fingerprints and names origins, domains and directions', () => {
    expect(shortFingerprint('0123456789abcdef'.repeat(4))).toBe('0123 4567 89ab cdef…');
    expect(anchorOrigin({ origin: 'manual' })).toBe('Added by hand');
    expect(anchorOrigin({ origin: 'bundle', bundle: 'community' })).toBe(
      'Comes from bundle community',
    );
    expect(domainLabel('*')).toBe('All local domains');
    expect(domainLabel('clinic.test')).toBe('clinic.test');
    expect(directionLabel('inbound')).toBe('Receiving');
    expect(directionLabel('outbound')).toBe('Sending');
    expect(directionLabel('both')).toBe('Sending and receiving');
  });

  it('passes PEM text through and base64-encodes DER or .p7b bytes', () => {
    const pem = '\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(certificatesText(new TextEncoder().encode(pem))).toBe(pem);
    const der = new Uint8Array([0x30, 0x82, 0x01, 0x0a, 0xff, 0x00]);
    expect(certificatesText(der)).toBe(Buffer.from(der).toString('base64'));
  });

  it('turns the audit filter form into contract parameters, or says what is wrong', () => {
    expect(auditFilterParams(EMPTY_AUDIT_FILTER)).toEqual({ ok: true, filter: {} });
    const since = '2026-03-01T09:30';
    const until = '2026-03-02T09:30';
    const parsed = auditFilterParams({
      action: 'open',
      counterpart: '  dr.adams@practice-a.test ',
      since,
      until,
    });
    expect(parsed).toEqual({
      ok: true,
      filter: {
        action: 'open',
        counterpart: 'dr.adams@practice-a.test',
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
      },
    });
    expect(auditFilterParams({ ...EMPTY_AUDIT_FILTER, action: 'steal' })).toEqual({
      ok: false,
      problem: 'Unknown action "steal".',
    });
    expect(auditFilterParams({ ...EMPTY_AUDIT_FILTER, since: 'yesterday' }).ok).toBe(false);
    expect(auditFilterParams({ ...EMPTY_AUDIT_FILTER, since: until, until: since })).toEqual({
      ok: false,
      problem: '"From" must be before "until".',
    });
    expect(
      auditFilterParams({ ...EMPTY_AUDIT_FILTER, counterpart: `${'a'.repeat(320)}@x.test` }).ok,
    ).toBe(false);
  });

  it('says whether the audit chain is intact or where it was tampered with', () => {
    expect(chainState({ intact: true, entries: 1 })).toEqual({
      intact: true,
      text: 'Intact: all 1 entry checks out.',
    });
    expect(chainState({ intact: true, entries: 12 }).text).toBe(
      'Intact: all 12 entries check out.',
    );
    const bad = chainState({ intact: false, entries: 12, problem: 'changed', seq: 7 });
    expect(bad.intact).toBe(false);
    expect(bad.text).toMatch(/^Tampered at entry 7 \(changed\)/);
  });

  it('offers only safe download names', () => {
    expect(safeDownloadName('sealpost-audit-2026.csv', 'x.csv')).toBe('sealpost-audit-2026.csv');
    expect(safeDownloadName('../../etc/passwd', 'x.csv')).toBe('.._.._etc_passwd');
    expect(safeDownloadName('a\u0000b\nc', 'x.csv')).toBe('a_b_c');
    expect(safeDownloadName('  ', 'x.csv')).toBe('x.csv');
    expect(safeDownloadName('..', 'x.csv')).toBe('x.csv');
  });
});

describe('alerts and settings errors in plain language', () => {
  it('explains a silence alert and a relay alert, keeping the HISP sentence', () => {
    const silence = explainAlert({ kind: 'silence', message: 'No Direct message for 6 hours.' });
    expect(silence.summary).toBe('No Direct mail has arrived for longer than usual.');
    expect(silence.detail).toBe('No Direct message for 6 hours.');
    expect(silence.fix).toBeDefined();
    const relay = explainAlert({ kind: 'relay', message: '' });
    expect(relay.summary).toMatch(/outgoing mail server/);
    expect(relay.detail).toBeUndefined();
  });

  it('explains a certificate alert with its most common reason', () => {
    const words = explainCertificateAlert({
      domain: 'lab.test',
      count: 12,
      windowMs: 10 * 60_000,
      reasons: [
        { code: 'CERT_EXPIRED', count: 2 },
        { code: 'CERT_UNTRUSTED', count: 10 },
      ],
    });
    expect(words.summary).toBe('12 certificates for lab.test failed their checks in 10 min.');
    expect(words.detail).not.toMatch(/expired/i);
    expect(words.detail).toMatch(/^Most common reason: /);
    expect(words.fix).toMatch(/administrator/);
  });

  it('explains a wrong vault passphrase with the registry message', () => {
    const words = explainSettingsError({ code: 'VAULT_BAD_PASSPHRASE', message: 'x' });
    expect(words.summary).toBe(ERROR_CODES.VAULT_BAD_PASSPHRASE.description);
    expect(words.fix).toMatch(/passphrase again/);
    expect(words.detail).toBe('x');
  });

  it('explains PKCS#12 problems with the fix, keeping the OpenSSL commands', () => {
    const bad = explainSettingsError({
      code: 'PKCS12_BAD_PASSWORD',
      message: ERROR_CODES.PKCS12_BAD_PASSWORD.description,
    });
    expect(bad.summary).toBe('That password does not open this certificate file.');
    expect(bad.fix).toMatch(/password/);
    const legacy = explainSettingsError({
      code: 'PKCS12_UNSUPPORTED',
      message: 'openssl pkcs12 -legacy -in old.p12 -nodes -out tmp.pem',
    });
    expect(legacy.summary).toMatch(/old kind of encryption/);
    expect(legacy.detail).toContain('openssl pkcs12 -legacy');
  });

  it('falls back to the registry description for other codes', () => {
    const words = explainSettingsError({ code: 'ANCHOR_NOT_FOUND', message: 'From bundle x.' });
    expect(words.summary).toBe(ERROR_CODES.ANCHOR_NOT_FOUND.description);
    expect(words.detail).toBe('From bundle x.');
  });
});
