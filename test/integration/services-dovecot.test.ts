import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ImapFlow } from 'imapflow';
import type { ImapFlowOptions } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startDovecot } from '../services/index.js';
import type { DovecotHandle } from '../services/index.js';

describe('services: Dovecot IMAP (real server)', () => {
  let dovecot: DovecotHandle | undefined;

  beforeAll(async () => {
    dovecot = await startDovecot();
  });

  afterAll(async () => {
    await dovecot?.stop();
  });

  function server(): DovecotHandle {
    if (!dovecot) throw new Error('dovecot did not start');
    return dovecot;
  }

  function client(overrides: Partial<ImapFlowOptions> = {}): ImapFlow {
    const d = server();
    return new ImapFlow({
      host: d.host,
      port: d.imapsPort,
      secure: true,
      auth: { user: d.user, pass: d.password },
      tls: { ca: [d.caPem] },
      logger: false,
      autoIdleDelay: 100,
      connectionTimeout: 10_000,
      ...overrides,
    });
  }

  it('logs in over implicit TLS trusting the self-signed cert, APPENDs, and fetches the message back', async () => {
    const d = server();
    const token = randomBytes(8).toString('hex');
    const subject = `Sealpost harness ${token}`;
    const body = `Hello from the test harness, token ${token}.`;
    const message = [
      'From: Bob <bob@example.test>',
      `To: ${d.user}`,
      `Subject: ${subject}`,
      `Message-ID: <${token}@example.test>`,
      'Date: Thu, 26 Nov 2026 12:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n');

    const imap = client();
    await imap.connect();
    try {
      expect(imap.secureConnection).toBe(true);
      expect(imap.tls && imap.tls.authorized).toBe(true);

      const appended = await imap.append('INBOX', message, ['\\Seen']);
      expect(appended).not.toBe(false);
      if (appended === false) return;
      expect(appended.destination).toBe('INBOX');
      expect(typeof appended.uid).toBe('number');

      const lock = await imap.getMailboxLock('INBOX');
      try {
        const uids = await imap.search(
          { header: { 'message-id': `<${token}@example.test>` } },
          { uid: true },
        );
        expect(uids).toEqual([appended.uid]);

        const fetched = await imap.fetchOne(
          String(appended.uid),
          { source: true, envelope: true, flags: true },
          { uid: true },
        );
        expect(fetched).not.toBe(false);
        if (fetched === false) return;
        expect(fetched.envelope?.subject).toBe(subject);
        expect(fetched.envelope?.from?.[0]?.address).toBe('bob@example.test');
        expect(fetched.flags?.has('\\Seen')).toBe(true);
        expect(fetched.source?.toString('utf8')).toBe(message);
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }

    // The message really is in the Maildir in the temp dir.
    const cur = join(d.maildir(d.user), 'cur');
    const files = await readdir(cur);
    const contents = await Promise.all(files.map((f) => readFile(join(cur, f), 'utf8')));
    expect(contents.filter((c) => c.includes(token))).toHaveLength(1);
  });

  it('logs in after STARTTLS on the plain port when the upgrade is required', async () => {
    const d = server();
    const imap = client({ port: d.imapPort, secure: false, doSTARTTLS: true });
    await imap.connect();
    try {
      expect(imap.tls && imap.tls.authorized).toBe(true);
      const status = await imap.status('INBOX', { messages: true });
      expect(status).not.toBe(false);
      expect(status && typeof status.messages).toBe('number');
    } finally {
      await imap.logout();
    }
  });

  it('rejects the self-signed certificate when it is not trusted (verification is on)', async () => {
    const imap = client({ tls: {} });
    imap.on('error', () => {
      // connect() rejects; nothing else to report
    });
    await expect(imap.connect()).rejects.toThrow(/self[- ]signed|certificate/i);
    imap.close();
  });

  it('rejects a wrong password and accepts a user added at run time', async () => {
    const d = server();
    const bad = client({ auth: { user: d.user, pass: `${d.password}x` } });
    bad.on('error', () => {
      // connect() rejects; nothing else to report
    });
    await expect(bad.connect()).rejects.toThrow();
    expect(bad.authenticated).toBeFalsy();
    bad.close();

    await d.addUser('carol@example.test', 'carol-pw');
    const carol = client({ auth: { user: 'carol@example.test', pass: 'carol-pw' } });
    await carol.connect();
    try {
      expect(carol.authenticated).toBeTruthy();
      const list = await carol.list();
      expect(list.map((m) => m.path)).toContain('INBOX');
    } finally {
      await carol.logout();
    }
  });
});
