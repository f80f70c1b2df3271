/**
 * Settings › Mail server, "Test connection" in words (renderer/src/mail/explain.ts
 * connectionTestTarget, connectionStepLabel, explainConnectionTest): which status rows get
 * the button, the steps, and a failure's reason with a fix that fits a test (check the
 * settings) rather than a queued message (Sealpost keeps retrying).
 */
import { describe, expect, it } from 'vitest';

import { ConnectionTestSchema, type ConnectionTest } from '../../hisp/api/index.js';
import {
  connectionStepLabel,
  connectionTestTarget,
  explainConnectionTest,
  explainReason,
} from '../../renderer/src/mail/explain.js';

/** A result as the HISP sends it (checked against the contract, as the client does). */
function result(value: ConnectionTest): ConnectionTest {
  return ConnectionTestSchema.parse(value);
}

describe('connectionTestTarget', () => {
  it('offers a test for a configured relay or upstream account, whatever its health', () => {
    expect(connectionTestTarget({ name: 'relay', state: 'ok' })).toBe('relay');
    expect(connectionTestTarget({ name: 'relay', state: 'degraded' })).toBe('relay');
    expect(connectionTestTarget({ name: 'upstream', state: 'down' })).toBe('upstream');
  });

  it('offers none for an account that is off (not configured, or locked) or another part', () => {
    expect(connectionTestTarget({ name: 'relay', state: 'off' })).toBeUndefined();
    expect(connectionTestTarget({ name: 'upstream', state: 'off' })).toBeUndefined();
    expect(connectionTestTarget({ name: 'inbound', state: 'ok' })).toBeUndefined();
    expect(connectionTestTarget({ name: 'api', state: 'ok' })).toBeUndefined();
  });
});

describe('explainConnectionTest', () => {
  it('a passing test: a headline naming the server, and every step labelled', () => {
    const statement = explainConnectionTest(
      result({
        ok: true,
        target: 'upstream',
        server: 'imap.example.test:993',
        steps: [
          { step: 'connect', ok: true, detail: 'imap.example.test:993 answered' },
          { step: 'tls', ok: true, detail: 'implicit TLS, certificate verified' },
          { step: 'auth', ok: true, detail: 'logged in as practice' },
          { step: 'mailbox', ok: true, detail: 'INBOX opened read-only: 3 message(s)' },
        ],
      }),
    );
    expect(statement.ok).toBe(true);
    expect(statement.headline).toBe(
      'Sealpost can reach the upstream mailbox (imap.example.test:993): every step worked.',
    );
    expect(statement.steps.map((s) => s.label)).toEqual([
      'Reach the server',
      'Encrypted connection (TLS)',
      'Log in',
      'Open the mailbox',
    ]);
    expect(statement.steps[3]?.detail).toBe('INBOX opened read-only: 3 message(s)');
    expect(statement.reason).toBeUndefined();
  });

  it('a wrong relay password: names the failed step, explains the code, says to check the account', () => {
    const statement = explainConnectionTest(
      result({
        ok: false,
        target: 'relay',
        server: 'smtp.example.test:587',
        steps: [
          { step: 'connect', ok: true },
          { step: 'tls', ok: true },
          { step: 'auth', ok: false, detail: 'smtp.example.test: 535 Authentication failed' },
        ],
        reason: {
          code: 'RELAY_AUTH_FAILED',
          message: 'smtp.example.test: 535 Authentication failed',
        },
      }),
    );
    expect(statement.ok).toBe(false);
    expect(statement.headline).toBe(
      'The test of the relay (smtp.example.test:587) failed at “Log in”.',
    );
    expect(statement.reason).toEqual({
      code: 'RELAY_AUTH_FAILED',
      summary: 'The relay refused the account name or password.',
      fix: 'Check the relay account name and password in Settings › Mail server and preferences (or the configuration file).',
      detail: 'smtp.example.test: 535 Authentication failed',
    });
  });

  it('a relay that cannot be reached: the fix points at host, port and firewall, not at retrying', () => {
    const statement = explainConnectionTest(
      result({
        ok: false,
        target: 'relay',
        server: 'smtp.example.test:587',
        steps: [{ step: 'connect', ok: false }],
        reason: { code: 'RELAY_CONNECTION', message: 'smtp.example.test: connect ECONNREFUSED' },
      }),
    );
    expect(statement.headline).toMatch(/failed at “Reach the server”/);
    expect(statement.reason?.fix).toMatch(/host name and port/);
    expect(statement.reason?.fix).not.toMatch(/keeps retrying/);
    // The general explanation (for a queued message) is left as it was.
    expect(explainReason({ code: 'RELAY_CONNECTION', message: '' }, 'recipient').fix).toMatch(
      /keeps retrying/,
    );
  });

  it('the upstream codes have plain words of their own', () => {
    for (const code of [
      'UPSTREAM_UNAVAILABLE',
      'UPSTREAM_TLS_REQUIRED',
      'UPSTREAM_AUTH_FAILED',
    ] as const) {
      const statement = explainConnectionTest(
        result({
          ok: false,
          target: 'upstream',
          server: 'imap.example.test:143',
          steps: [{ step: 'connect', ok: false }],
          reason: { code, message: 'imap.example.test:143: it failed' },
        }),
      );
      expect(statement.reason?.code).toBe(code);
      expect(statement.reason?.summary).toMatch(/mail account/);
      expect(statement.reason?.fix).toMatch(/upstream/);
      expect(statement.reason?.detail).toBe('imap.example.test:143: it failed');
    }
  });

  it('nothing to test (not configured, or relay "mx"): the HISP sentence is the reason', () => {
    const statement = explainConnectionTest(
      result({
        ok: false,
        target: 'relay',
        steps: [],
        reason: {
          code: 'RELAY_CONNECTION',
          message: 'No relay is configured, so there is nothing to test: messages stay queued.',
        },
      }),
    );
    expect(statement).toEqual({
      ok: false,
      headline: 'There is nothing to test for the relay.',
      steps: [],
      reason: {
        code: 'RELAY_CONNECTION',
        summary: 'No relay is configured, so there is nothing to test: messages stay queued.',
      },
    });
  });

  it('every step has a label', () => {
    for (const step of ['connect', 'tls', 'auth', 'mailbox'] as const) {
      expect(connectionStepLabel(step)).not.toBe('');
    }
  });
});
