/**
 * risk-13 (outbound queue encrypted at rest), risk-14 (mailbox keeps ciphertext, index
 * encrypted, decrypt on fetch), risk-19 (nothing readable on disk: no plaintext files, temp
 * files or log lines).
 *
 * A message carrying a unique marker in its subject, body, attachment name and attachment
 * content is made by the outbound agent, stored as sent and queued on the sender's profile,
 * received on the recipient's profile, opened and its attachment streamed. Then every file
 * under both profile directories (database, -wal, -shm, profile.json, vault.json), every file
 * that appeared or changed under os.tmpdir() during the test, and every captured log and
 * console line is scanned: the marker must not be there as UTF-8 (any case), UTF-16LE, or
 * base64 at any of the three byte alignments (also with line breaks removed). The scanner is
 * shown to find each form in the plaintext, so it can fail. Once small, once with a 50 MB
 * attachment (time and peak RSS printed).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type InboundKey } from '../../hisp/agent/inbound.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { vaultMasterKeySource } from '../../hisp/keys/masterKey.js';
import { createLogger } from '../../hisp/log/logger.js';
import { GREG, greg, RI_AT, riAnchor, riOpener, RYAN, ryan } from '../unit/interop-identities.js';
import { MailStore, type OpenFn } from '../../hisp/store/mail.js';
import { initProfile, VAULT_FILE, type Profile } from '../../hisp/store/profile.js';

const at = RI_AT;
const anchor = riAnchor;

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', sink: (line) => logLines.push(line) });

function opener(keys: readonly InboundKey[]): OpenFn {
  return riOpener(keys, { anchors: [anchor], at, logger });
}

/** The marker in every form it could take on disk. */
function needles(marker: string): { name: string; bytes: Buffer }[] {
  const out = [
    { name: 'utf-8', bytes: Buffer.from(marker) },
    { name: 'utf-8 lower', bytes: Buffer.from(marker.toLowerCase()) },
    { name: 'utf-8 upper', bytes: Buffer.from(marker.toUpperCase()) },
    { name: 'utf-16le', bytes: Buffer.from(marker, 'utf16le') },
  ];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(marker)]).toString('base64');
    // Drop the first group (it mixes in the unknown preceding bytes) and the last (the
    // unknown following bytes): what remains is fixed wherever the marker sits.
    out.push({ name: `base64+${shift}`, bytes: Buffer.from(b64.slice(shift ? 4 : 0, -4)) });
  }
  return out;
}

/** `data` without CR and LF bytes (byte by byte: a scanned file may be too big for a string). */
function withoutLineBreaks(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let length = 0;
  const next = (byte: number, from: number): number => {
    const at = data.indexOf(byte, from);
    return at < 0 ? data.length : at;
  };
  for (let start = 0; start < data.length;) {
    const end = Math.min(next(0x0d, start), next(0x0a, start));
    length += data.copy(out, length, start, end);
    start = end + 1;
  }
  return out.subarray(0, length);
}

/** Names of the needles found in `data` (base64 forms also with CR/LF removed). */
function findIn(data: Buffer, forms: { name: string; bytes: Buffer }[]): string[] {
  const found = forms.filter((n) => data.indexOf(n.bytes) >= 0).map((n) => n.name);
  let unbroken: Buffer | undefined;
  for (const n of forms) {
    if (!n.name.startsWith('base64') || found.includes(n.name)) continue;
    unbroken ??= withoutLineBreaks(data);
    if (unbroken.indexOf(n.bytes) >= 0) found.push(`${n.name} (across lines)`);
  }
  return found;
}

async function listFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function visit(path: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch {
      return; // vanished or not ours to read
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await visit(full);
      else if (entry.isFile()) {
        try {
          const s = await lstat(full);
          out.set(full, `${s.size}:${s.mtimeMs}:${s.ino}`);
        } catch {
          // vanished
        }
      }
    }
  }
  await visit(dir);
  return out;
}

async function scan(
  files: readonly string[],
  forms: { name: string; bytes: Buffer }[],
): Promise<{ hits: string[]; bytes: number }> {
  const hits: string[] = [];
  let bytes = 0;
  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // vanished (another suite's temp file) or unreadable
    }
    bytes += data.length;
    for (const name of findIn(data, forms)) hits.push(`${file}: ${name}`);
  }
  return { hits, bytes };
}

function plainMessage(marker: string, attachment: Buffer): Buffer {
  const boundary = `b-${randomBytes(8).toString('hex')}`;
  const b64 = (attachment.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from(
    `From: Greg <${GREG}>\r\nTo: ${RYAN}\r\nSubject: Consult ${marker} today\r\n` +
      `Date: Sun, 01 Nov 2026 00:00:00 +0000\r\n` +
      `Message-ID: <${randomBytes(8).toString('hex')}@securehealthemail.com>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      `The patient note: ${marker}. Regards.\r\n` +
      `--${boundary}\r\nContent-Type: application/octet-stream\r\n` +
      `Content-Disposition: attachment; filename="scan-${marker}.bin"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--${boundary}--\r\n`,
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let root: string;
const opened: Profile[] = [];

async function newProfile(name: string): Promise<Profile> {
  const dir = join(root, name);
  const profile = await initProfile(dir, {
    keySource: vaultMasterKeySource({
      file: join(dir, VAULT_FILE),
      passphrase: Buffer.from(`passphrase ${name}`),
    }),
  });
  opened.push(profile);
  return profile;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sealpost-mail-risks-'));
});

afterAll(async () => {
  for (const p of opened) p.close();
  await rm(root, { recursive: true, force: true });
});

/** Captures console output of this process while `work` runs (still passed through). */
async function capturingConsole<T>(work: () => Promise<T>): Promise<{ value: T; lines: string }> {
  const spies = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
  try {
    const value = await work();
    const lines = spies
      .flatMap((spy) => spy.mock.calls.map(([chunk]) => Buffer.from(chunk).toString()))
      .join('');
    return { value, lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

async function roundTrip(label: string, attachmentBytes: number): Promise<void> {
  const marker = `SPMARK${randomBytes(12).toString('hex').toUpperCase()}Q`;
  const forms = needles(marker);
  const attachment = Buffer.concat([
    Buffer.from(`${marker} `),
    randomBytes(Math.max(0, attachmentBytes - marker.length - 1)),
  ]);
  const before = await listFiles(tmpdir());
  const started = performance.now();
  const maxRssBefore = process.resourceUsage().maxRSS;

  const { value: result, lines: consoleText } = await capturingConsole(async () => {
    const sender = await newProfile(`${label}-sender`);
    const recipient = await newProfile(`${label}-recipient`);
    const outbox = new MailStore(sender, { logger });
    // The recipient's store logs to stderr (the default sink): the console capture sees it.
    const inbox = new MailStore(recipient, { logger: createLogger({ level: 'debug' }) });

    const inner = plainMessage(marker, attachment);
    const wire = collect(
      signAndEncrypt(inner, greg, [ryan.certDer], { now: at, allowSha1CertificateSignatures: true })
        .message,
    );
    const t0 = performance.now();
    const sent = outbox.storeSent({
      raw: wire,
      inner,
      envelope: { from: GREG, to: [RYAN] },
      enqueue: [RYAN],
    });
    const tSent = performance.now() - t0;
    expect(outbox.queueFor(sent.id).map((q) => q.state)).toEqual(['queued']);
    expect(outbox.get(sent.id).folder).toBe('outbox');

    const t1 = performance.now();
    const received = await inbox.receive(
      { raw: wire, envelope: { from: GREG, to: [RYAN] } },
      opener([ryan]),
    );
    const tReceive = performance.now() - t1;
    const row = inbox.get(received.id);
    expect(row).toMatchObject({
      folder: 'inbox',
      trusted: true,
      subject: `Consult ${marker} today`,
    });
    expect(row.attachmentNames).toEqual([`scan-${marker}.bin`]);
    expect(row.snippet).toContain(marker);
    // The encrypted index finds it (so the marker IS in the databases, only encrypted).
    expect(inbox.search(marker).map((r) => r.id)).toEqual([received.id]);

    const t2 = performance.now();
    const message = await inbox.open(received.id, opener([ryan]));
    const tOpen = performance.now() - t2;
    expect(message.text).toContain(marker);
    expect(message.attachments[0]).toMatchObject({
      filename: `scan-${marker}.bin`,
      size: attachment.length,
    });
    const t3 = performance.now();
    const streamed = await readAll(inbox.attachment(received.id, 0, opener([ryan])));
    const tStream = performance.now() - t3;
    expect(streamed.equals(attachment)).toBe(true);
    // The sender's own copy opens with its own key.
    expect((await outbox.open(sent.id, opener([greg]))).subject).toContain(marker);

    // The positive controls: the scanner finds every form in the plaintext it must never see.
    expect(findIn(inner, forms)).toEqual(expect.arrayContaining(['utf-8', 'base64+0']));
    const encodedAttachment = Buffer.from(
      (
        Buffer.concat([Buffer.alloc(46), attachment.subarray(0, 300)])
          .toString('base64')
          .match(/.{1,76}/g) ?? []
      ).join('\r\n'),
    );
    expect(findIn(encodedAttachment, forms)).toContain('base64+1 (across lines)');
    expect(findIn(Buffer.from(`x${marker.toLowerCase()}y`), forms)).toEqual(['utf-8 lower']);
    expect(findIn(Buffer.from(`x${marker}`, 'utf16le'), forms)).toEqual(['utf-16le']);
    for (let shift = 0; shift < 3; shift++) {
      const encoded = Buffer.concat([randomBytes(shift), attachment.subarray(0, 200)]).toString(
        'base64',
      );
      expect(findIn(Buffer.from(encoded), forms)).toContain(`base64+${shift}`);
    }
    return {
      sender,
      recipient,
      times: { tSent, tReceive, tOpen, tStream },
      wireBytes: wire.length,
    };
  });

  const elapsed = performance.now() - started;
  const maxRss = process.resourceUsage().maxRSS;
  // Everything is on disk (WAL included) while the profiles are still open: scan now, and again
  // after closing them (checkpoint into the main file).
  const profileFiles = async () => [
    ...(await listFiles(result.sender.dir)).keys(),
    ...(await listFiles(result.recipient.dir)).keys(),
  ];
  const openFiles = await profileFiles();
  expect(openFiles.some((f) => f.endsWith('sealpost.db-wal'))).toBe(true);
  const whileOpen = await scan(openFiles, forms);
  result.sender.close();
  result.recipient.close();
  const afterClose = await scan(await profileFiles(), forms);

  const after = await listFiles(tmpdir());
  const changed = [...after].filter(([file, sig]) => before.get(file) !== sig).map(([f]) => f);
  const temp = await scan(changed, forms);
  // Controls: the listing diff sees new files (the profiles live under tmpdir too), and scan()
  // reports a file that does hold the marker.
  expect(changed.some((f) => f.startsWith(result.recipient.dir))).toBe(true);
  const control = join(root, `control-${label}.bin`);
  await writeFile(control, Buffer.concat([randomBytes(7), Buffer.from(marker, 'utf16le')]));
  expect((await scan([control], forms)).hits).toEqual([`${control}: utf-16le`]);
  await rm(control);

  const logs = findIn(Buffer.from(logLines.join('\n')), forms);
  const consoleHits = findIn(Buffer.from(consoleText), forms);

  console.log(
    `[${label}] attachment ${attachment.length} B, wire ${result.wireBytes} B: ` +
      `storeSent ${result.times.tSent.toFixed(0)} ms, receive ${result.times.tReceive.toFixed(0)} ms, ` +
      `open ${result.times.tOpen.toFixed(0)} ms, stream ${result.times.tStream.toFixed(0)} ms, ` +
      `whole round ${elapsed.toFixed(0)} ms; peak RSS ${(maxRss / 1024).toFixed(0)} MiB ` +
      `(before ${(maxRssBefore / 1024).toFixed(0)} MiB); scanned ${whileOpen.bytes + afterClose.bytes} B ` +
      `of profile files and ${temp.bytes} B in ${changed.length} new/changed temp files`,
  );
  expect(whileOpen.hits).toEqual([]);
  expect(afterClose.hits).toEqual([]);
  expect(temp.hits).toEqual([]);
  expect(logs).toEqual([]);
  expect(consoleHits).toEqual([]);
  // Both stores did log (ids, sizes, codes), one to the captured lines, one to stderr.
  expect(logLines.join('\n')).toContain('sent message stored');
  expect(consoleText).toContain('message received');
}

describe('mailbox at rest', () => {
  it('risk-13 risk-14 risk-19: the marker of a sent, queued, received, opened message is nowhere on disk or in logs', async () => {
    await roundTrip('small', 40_000);
  });

  it('risk-13 risk-14 risk-19: the same with a 50 MB attachment', async () => {
    await roundTrip('large', 50 * 1024 * 1024);
  }, 180_000);
});
