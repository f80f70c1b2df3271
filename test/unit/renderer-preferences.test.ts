/**
 * Settings › Mail server and preferences, the pure part (renderer/src/settings/
 * preferencesModel.ts): a saved preference as a form and back, the defaults when the kind of
 * account changes, the checks made before any call (each problem on its field), the
 * parameters of `updatePreferences` and `testConnection` (parsed with the contract's own
 * schemas, as the client does before sending), the password rules (an empty field keeps the
 * saved one only for the same server and user; an organisation's account is saved as its
 * password), and the words for where a group comes from.
 */
import { describe, expect, it } from 'vitest';

import { calls, PreferencesSchema } from '../../hisp/api/index.js';
import type { Preferences, RelayView, UpstreamView } from '../../hisp/api/index.js';
import {
  autoLockForm,
  autoLockUpdate,
  checkRelay,
  checkUpstream,
  deliveryForm,
  deliveryUpdate,
  exceptionDomains,
  IMAP_PORTS,
  isManaged,
  keepsSavedPassword,
  MANAGED_TEXT,
  managedNote,
  relayEditable,
  relayForm,
  relayTest,
  relayUpdate,
  SMTP_PORTS,
  sourceNote,
  upstreamEditable,
  upstreamForm,
  upstreamTest,
  upstreamUpdate,
  withRelayKind,
  withSecure,
  withUpstreamKind,
} from '../../renderer/src/settings/preferencesModel.js';
import type { RelayForm, UpstreamForm } from '../../renderer/src/settings/preferencesModel.js';

/** Parameters as the client checks them before sending (hisp/api/client.ts). */
function updateParams(value: unknown): unknown {
  return calls.updatePreferences.params.parse(value);
}
function testParams(value: unknown): unknown {
  return calls.testConnection.params.parse(value);
}

const SAVED_SMARTHOST: RelayView = {
  kind: 'smarthost',
  host: 'smtp.example.org',
  port: 587,
  secure: 'starttls',
  user: 'clinic',
  passwordSet: true,
};
const SAVED_IMAP: UpstreamView = {
  kind: 'imap',
  host: 'imap.example.org',
  port: 993,
  secure: 'implicit',
  user: 'clinic@example.org',
  afterStore: 'keep',
  passwordSet: true,
};

describe('a saved preference as a form', () => {
  it('a smarthost: every field as text, the password never filled in', () => {
    expect(relayForm(SAVED_SMARTHOST)).toEqual({
      kind: 'smarthost',
      host: 'smtp.example.org',
      port: '587',
      secure: 'starttls',
      user: 'clinic',
      password: '',
      exceptions: '',
    });
  });

  it('mx exceptions one per line; none keeps the smarthost defaults for a later switch', () => {
    expect(relayForm({ kind: 'mx', exceptions: ['a.test', 'b.test'] }).exceptions).toBe(
      'a.test\nb.test',
    );
    const none = relayForm({ kind: 'none' });
    expect(none).toMatchObject({ kind: 'none', port: '587', secure: 'starttls', host: '' });
  });

  it('an IMAP account with its mailbox and after-store action; delivery and auto-lock as text', () => {
    const form = upstreamForm({
      ...SAVED_IMAP,
      mailbox: 'Direct',
      afterStore: 'move',
      moveTo: 'Done',
    });
    expect(form).toMatchObject({
      mailbox: 'Direct',
      afterStore: 'move',
      moveTo: 'Done',
      password: '',
    });
    expect(upstreamForm({ kind: 'none' })).toMatchObject({ port: '993', secure: 'implicit' });
    expect(
      deliveryForm({ timeoutHours: 1.5, requestDispatched: true, silenceAlertHours: 0 }),
    ).toEqual({ timeoutHours: '1.5', requestDispatched: true, silenceAlertHours: '0' });
    expect(autoLockForm(15)).toEqual({ minutes: '15' });
  });
});

describe('switching kinds and TLS modes', () => {
  it('a smarthost starts on 587 with STARTTLS, IMAP on 993 with implicit TLS', () => {
    const relay = withRelayKind(
      { ...relayForm({ kind: 'none' }), port: '25', secure: 'implicit' },
      'smarthost',
    );
    expect(relay).toMatchObject({ kind: 'smarthost', port: '587', secure: 'starttls' });
    const upstream = withUpstreamKind(
      { ...upstreamForm({ kind: 'none' }), port: '143', secure: 'starttls' },
      'imap',
    );
    expect(upstream).toMatchObject({ kind: 'imap', port: '993', secure: 'implicit' });
  });

  it('a server already typed is kept when switching away and back', () => {
    const typed: RelayForm = { ...relayForm(SAVED_SMARTHOST), port: '2525' };
    const back = withRelayKind(withRelayKind(typed, 'mx'), 'smarthost');
    expect(back).toMatchObject({ host: 'smtp.example.org', port: '2525' });
  });

  it('the port follows the TLS mode only when it was the usual one', () => {
    const usual = relayForm(SAVED_SMARTHOST);
    expect(withSecure(usual, 'implicit', SMTP_PORTS)).toMatchObject({
      port: '465',
      secure: 'implicit',
    });
    expect(withSecure({ ...usual, port: '2525' }, 'implicit', SMTP_PORTS).port).toBe('2525');
    const imap = upstreamForm(SAVED_IMAP);
    expect(withSecure(imap, 'starttls', IMAP_PORTS).port).toBe('143');
  });
});

describe('checking the relay form', () => {
  const smarthost = (over: Partial<RelayForm>): RelayForm => ({
    ...relayForm({ kind: 'none' }),
    kind: 'smarthost',
    ...over,
  });

  it('host characters, port range and a missing host each on their field', () => {
    const wrong = checkRelay(smarthost({ host: 'smtp://mail.example.org', port: '70000' }));
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(wrong.problems.host).toMatch(/host name or IP address only/);
    expect(wrong.problems.port).toBe('A whole number from 1 to 65535.');
    for (const port of ['0', '', '58.7', '-1', '1e3']) {
      const checked = checkRelay(smarthost({ host: 'mail.example.org', port }));
      expect(checked.ok ? undefined : checked.problems.port).toBe(
        'A whole number from 1 to 65535.',
      );
    }
    const empty = checkRelay(smarthost({ host: '  ' }));
    expect(empty.ok ? undefined : empty.problems.host).toMatch(/Type the server/);
    const spaces = checkRelay(smarthost({ host: 'mail example.org' }));
    expect(spaces.ok).toBe(false);
  });

  it('no user: no password sent, even one typed', () => {
    const checked = checkRelay(
      smarthost({ host: ' mail.example.org ', port: '25', password: 'x' }),
    );
    expect(checked).toEqual({
      ok: true,
      value: { kind: 'smarthost', host: 'mail.example.org', port: 25, secure: 'starttls' },
    });
  });

  it('a user needs a password unless one is saved for the same host, port and user', () => {
    const noneSaved = checkRelay(smarthost({ host: 'mail.example.org', user: 'clinic' }));
    expect(noneSaved.ok ? undefined : noneSaved.problems.password).toMatch(/Type the password/);

    const same = relayForm(SAVED_SMARTHOST);
    expect(checkRelay(same, SAVED_SMARTHOST).ok).toBe(true);
    // The host in other case is the same server.
    expect(checkRelay({ ...same, host: 'SMTP.Example.org' }, SAVED_SMARTHOST).ok).toBe(true);
    for (const change of [{ host: 'other.example.org' }, { port: '2525' }, { user: 'someone' }]) {
      const checked = checkRelay({ ...same, ...change }, SAVED_SMARTHOST);
      expect(checked.ok ? undefined : checked.problems.password).toMatch(/Type the password/);
    }
    // Not saved at all.
    const unsaved = checkRelay(same, { ...SAVED_SMARTHOST, passwordSet: false });
    expect(unsaved.ok).toBe(false);
  });

  it('mx: domains split on lines, commas and spaces, checked one by one, duplicates once', () => {
    expect(exceptionDomains(' a.test\nb.test, c.test  a.test ')).toEqual([
      'a.test',
      'b.test',
      'c.test',
      'a.test',
    ]);
    const form: RelayForm = {
      ...relayForm({ kind: 'mx', exceptions: [] }),
      exceptions: 'a.test\nb.test, a.test',
    };
    expect(checkRelay(form)).toEqual({
      ok: true,
      value: { kind: 'mx', exceptions: ['a.test', 'b.test'] },
    });
    const bad = checkRelay({ ...form, exceptions: 'a.test\nhttp://b.test/' });
    expect(bad.ok ? undefined : bad.problems.exceptions).toBe(
      '“http://b.test/” is not a domain name.',
    );
  });
});

describe('checking the upstream form', () => {
  const imap = (over: Partial<UpstreamForm>): UpstreamForm => ({
    ...upstreamForm(SAVED_IMAP),
    ...over,
  });

  it('the user is required; move needs another mailbox to move to', () => {
    const noUser = checkUpstream(imap({ user: '' }), SAVED_IMAP);
    expect(noUser.ok ? undefined : noUser.problems.user).toMatch(/user name/);
    const noTarget = checkUpstream(imap({ afterStore: 'move' }), SAVED_IMAP);
    expect(noTarget.ok ? undefined : noTarget.problems.moveTo).toMatch(/Name the mailbox/);
    const same = checkUpstream(imap({ afterStore: 'move', moveTo: 'INBOX' }), SAVED_IMAP);
    expect(same.ok ? undefined : same.problems.moveTo).toMatch(/another/);
  });

  it('mailbox empty is left out (INBOX); moveTo only with move', () => {
    const keep = checkUpstream(imap({ moveTo: 'Stale' }), SAVED_IMAP);
    expect(keep).toEqual({
      ok: true,
      value: {
        kind: 'imap',
        host: 'imap.example.org',
        port: 993,
        secure: 'implicit',
        user: 'clinic@example.org',
        afterStore: 'keep',
      },
    });
    const move = checkUpstream(
      imap({ mailbox: 'Direct', afterStore: 'move', moveTo: 'Archive', password: 'pw' }),
      SAVED_IMAP,
    );
    expect(move.ok && move.value).toMatchObject({ mailbox: 'Direct', moveTo: 'Archive' });
    expect(move.ok && move.password).toBe('pw');
  });
});

describe('updatePreferences parameters', () => {
  it('a new smarthost with a password: relay and passwords.relay, valid for the contract', () => {
    const form: RelayForm = {
      ...withRelayKind(relayForm({ kind: 'none' }), 'smarthost'),
      host: '127.0.0.1',
      user: 'relay-user',
      password: 'secret words',
    };
    const update = relayUpdate(form, { kind: 'none' }, 'profile');
    expect(update).toEqual({
      ok: true,
      value: {
        relay: {
          kind: 'smarthost',
          host: '127.0.0.1',
          port: 587,
          secure: 'starttls',
          user: 'relay-user',
        },
        passwords: { relay: 'secret words' },
      },
    });
    if (update.ok) expect(updateParams(update.value)).toEqual(update.value);
  });

  it('the saved account unchanged with the password left empty: no passwords key', () => {
    const update = relayUpdate(relayForm(SAVED_SMARTHOST), SAVED_SMARTHOST, 'profile');
    expect(update.ok && update.value).toEqual({
      relay: {
        kind: 'smarthost',
        host: 'smtp.example.org',
        port: 587,
        secure: 'starttls',
        user: 'clinic',
      },
    });
  });

  it('an upstream account, delivery and auto-lock each alone', () => {
    const up = upstreamUpdate(
      { ...upstreamForm(SAVED_IMAP), password: 'pw' },
      SAVED_IMAP,
      'profile',
    );
    expect(up.ok && up.value).toEqual({
      upstream: {
        kind: 'imap',
        host: 'imap.example.org',
        port: 993,
        secure: 'implicit',
        user: 'clinic@example.org',
        afterStore: 'keep',
      },
      passwords: { upstream: 'pw' },
    });
    if (up.ok) updateParams(up.value);

    const delivery = deliveryUpdate({
      timeoutHours: '2.5',
      requestDispatched: true,
      silenceAlertHours: '0',
    });
    expect(delivery).toEqual({
      ok: true,
      value: { delivery: { timeoutHours: 2.5, requestDispatched: true, silenceAlertHours: 0 } },
    });
    if (delivery.ok) updateParams(delivery.value);

    expect(autoLockUpdate({ minutes: '0' })).toEqual({ ok: true, value: { autoLockMinutes: 0 } });
    expect(autoLockUpdate({ minutes: ' 1440 ' })).toEqual({
      ok: true,
      value: { autoLockMinutes: 1440 },
    });
  });

  it('numbers out of range or not numbers are refused on their field', () => {
    const delivery = deliveryUpdate({
      timeoutHours: '0',
      requestDispatched: false,
      silenceAlertHours: '721',
    });
    expect(delivery.ok ? undefined : delivery.problems).toEqual({
      timeoutHours: 'A number from 0.05 to 720.',
      silenceAlertHours: 'A number from 0 to 720.',
    });
    for (const minutes of ['', '1441', '2.5', '-1', 'ten']) {
      const checked = autoLockUpdate({ minutes });
      expect(checked.ok ? undefined : checked.problems.minutes).toBe(
        'A whole number from 0 to 1440.',
      );
    }
  });

  it("the organisation's account: only a typed password is sent, and one is needed", () => {
    const managed: RelayView = { ...SAVED_SMARTHOST, passwordSet: false };
    const nothing = relayUpdate(relayForm(managed), managed, 'organisation');
    expect(nothing.ok ? undefined : nothing.problems.password).toMatch(/type its password/);
    const typed = relayUpdate(
      { ...relayForm(managed), password: 'from the user' },
      managed,
      'organisation',
    );
    expect(typed).toEqual({ ok: true, value: { passwords: { relay: 'from the user' } } });
    if (typed.ok) updateParams(typed.value);
    const up = upstreamUpdate(
      { ...upstreamForm(SAVED_IMAP), password: 'pw' },
      SAVED_IMAP,
      'organisation',
    );
    expect(up).toEqual({ ok: true, value: { passwords: { upstream: 'pw' } } });
  });

  it("an open field of the organisation's account changed: the account is sent with the policy's fields as they are", () => {
    const managed: RelayView = {
      kind: 'smarthost',
      host: 'smtp.org.test',
      port: 587,
      secure: 'starttls',
      passwordSet: false,
    };
    const form = { ...relayForm(managed), user: 'me', password: 'pw' };
    const update = relayUpdate(form, managed, 'organisation');
    expect(update.ok && update.value).toEqual({
      relay: {
        kind: 'smarthost',
        host: 'smtp.org.test',
        port: 587,
        secure: 'starttls',
        user: 'me',
      },
      passwords: { relay: 'pw' },
    });
  });
});

describe('which fields can be changed', () => {
  it('all for the profile, none for the configuration file', () => {
    expect(relayEditable(SAVED_SMARTHOST, 'profile').has('host')).toBe(true);
    expect(relayEditable(SAVED_SMARTHOST, 'config').size).toBe(0);
    expect(upstreamEditable(SAVED_IMAP, 'config').size).toBe(0);
  });

  it("the organisation's: the password, and the user when its policy names none", () => {
    expect([...relayEditable(SAVED_SMARTHOST, 'organisation')]).toEqual(['password']);
    const noUser: RelayView = {
      kind: 'smarthost',
      host: 'smtp.org.test',
      port: 587,
      secure: 'starttls',
      passwordSet: false,
    };
    expect([...relayEditable(noUser, 'organisation')].sort()).toEqual(['password', 'user']);
    expect(relayEditable({ kind: 'mx', exceptions: [] }, 'organisation').size).toBe(0);
    expect(upstreamEditable(SAVED_IMAP, 'organisation').has('host')).toBe(false);
    expect(upstreamEditable({ ...SAVED_IMAP, user: '' }, 'organisation').has('user')).toBe(true);
  });

  it("the organisation's, as the HISP says (managedFields): what the policy fixed is read-only, the rest and the password are the user's", () => {
    expect(
      [
        ...relayEditable(SAVED_SMARTHOST, 'organisation', ['kind', 'host', 'port', 'secure']),
      ].sort(),
    ).toEqual(['password', 'user']);
    expect([
      ...relayEditable(SAVED_SMARTHOST, 'organisation', ['kind', 'host', 'port', 'secure', 'user']),
    ]).toEqual(['password']);
    const upstream = upstreamEditable(SAVED_IMAP, 'organisation', [
      'kind',
      'host',
      'port',
      'secure',
      'mailbox',
    ]);
    expect([...upstream].sort()).toEqual(['afterStore', 'moveTo', 'password', 'user']);
    expect(relayEditable({ kind: 'mx', exceptions: [] }, 'organisation', ['kind']).size).toBe(0);
  });
});

describe('testConnection parameters (the account as typed)', () => {
  it('the relay as typed, with the typed password; without one the saved one is used', () => {
    const typed = relayTest({ ...relayForm(SAVED_SMARTHOST), password: 'typed' }, SAVED_SMARTHOST);
    expect(typed).toEqual({
      ok: true,
      value: {
        target: 'relay',
        relay: {
          kind: 'smarthost',
          host: 'smtp.example.org',
          port: 587,
          secure: 'starttls',
          user: 'clinic',
        },
        password: 'typed',
      },
    });
    if (typed.ok) expect(testParams(typed.value)).toEqual(typed.value);
    const saved = relayTest(relayForm(SAVED_SMARTHOST), SAVED_SMARTHOST);
    expect(saved.ok && 'password' in saved.value).toBe(false);
  });

  it('mx and none have nothing to test: said on the kind choice', () => {
    const mx = relayTest(relayForm({ kind: 'mx', exceptions: [] }), { kind: 'mx', exceptions: [] });
    expect(mx.ok ? undefined : mx.problems.kind).toMatch(/no single server/);
    const none = upstreamTest(upstreamForm({ kind: 'none' }), { kind: 'none' });
    expect(none.ok ? undefined : none.problems.kind).toMatch(/nothing to test/);
  });

  it('an upstream account with a changed user needs its password to be tested', () => {
    const changed = upstreamTest({ ...upstreamForm(SAVED_IMAP), user: 'other' }, SAVED_IMAP);
    expect(changed.ok ? undefined : changed.problems.password).toMatch(/Type the password/);
    const ok = upstreamTest(
      { ...upstreamForm(SAVED_IMAP), user: 'other', password: 'pw' },
      SAVED_IMAP,
    );
    if (!ok.ok) throw new Error('expected ok');
    expect(testParams(ok.value)).toMatchObject({ target: 'upstream', password: 'pw' });
  });
});

describe('keepsSavedPassword', () => {
  it('only with one saved, for the same host (any case), port and user', () => {
    const account = { host: 'smtp.example.org', port: 587, user: 'clinic' };
    expect(keepsSavedPassword(SAVED_SMARTHOST, account)).toBe(true);
    expect(keepsSavedPassword({ ...SAVED_SMARTHOST, passwordSet: false }, account)).toBe(false);
    expect(keepsSavedPassword({ kind: 'none' }, account)).toBe(false);
    expect(keepsSavedPassword(undefined, account)).toBe(false);
  });
});

describe('where a group comes from, in words', () => {
  const files = { configFile: '/etc/sealpost/serve.json', policyFile: '/etc/sealpost/policy.json' };

  it('profile: nothing to say; organisation: the badge with the policy file; config: the file', () => {
    expect(sourceNote('profile', files)).toBeUndefined();
    expect(sourceNote('organisation', files)).toEqual({
      source: 'organisation',
      text: MANAGED_TEXT,
      detail: 'Set by the policy file /etc/sealpost/policy.json. Ask your IT staff to change it.',
    });
    expect(sourceNote('config', files)).toMatchObject({
      source: 'config',
      text: 'Set in the configuration file /etc/sealpost/serve.json',
    });
    expect(sourceNote('config', {})?.text).toMatch(/command line/);
  });

  it('a policy problem is said with the badge', () => {
    expect(
      managedNote({ policyProblem: 'policy.json: relay.port: expected a number' }).detail,
    ).toMatch(
      /could not be used, so everything it could lock is locked: policy\.json: relay\.port/,
    );
  });

  it('managed trust settings, from the preferences the HISP sends', () => {
    const preferences: Preferences = PreferencesSchema.parse({
      relay: { value: { kind: 'none' }, source: 'profile' },
      upstream: { value: { kind: 'none' }, source: 'profile' },
      delivery: {
        value: { timeoutHours: 1, requestDispatched: false, silenceAlertHours: 0 },
        source: 'profile',
      },
      autoLock: { value: 15, source: 'organisation' },
      managed: ['autoLock', 'trustAnchors'],
      autoUpdate: true,
      dataLocation: '/home/clinic/.local/share/sealpost',
    });
    expect(isManaged(preferences, 'trustAnchors')).toBe(true);
    expect(isManaged(preferences, 'trustBundles')).toBe(false);
    expect(isManaged(undefined, 'trustAnchors')).toBe(false);
  });
});
