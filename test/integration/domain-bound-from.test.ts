/**
 * Sending from any address at a domain with a domain-bound identity, end to end through
 * `sealpost serve --config`: practice A's profile holds one identity whose certificate names
 * only its domain (SAN dNSName practice-a.test, no rfc822Name), which `identities` lists as
 * "@practice-a.test"; practice B holds an ordinary address-bound identity. Our DNS responder
 * publishes A's domain certificate at practice-a.test and B's at its address; each serve
 * relays to the other's inbound SMTP over STARTTLS.
 *
 * `sendMessage` from frontdesk@practice-a.test (an address no certificate names) on A's
 * bridge → B holds it decrypted and trusted, from that address, signed by A's domain
 * certificate → B's processed notification, encrypted to A's domain certificate (found by
 * discovery for frontdesk@…) and addressed to frontdesk@…, is decrypted and applied by A.
 * An address at another domain is refused with IDENTITY_NOT_FOUND. This is what the mail
 * window's From does when the user picks "Any address @practice-a.test" and types a name.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { OpenedMessage } from '../../hisp/api/index.js';
import { parseCertificate } from '../../hisp/certs/certificate.js';
import type { DnsResponder } from '../../hisp/certs/hosting/dnsResponder.js';
import { generateKey, issueCertificate } from '../../hisp/certs/issue.js';
import { MailStore } from '../../hisp/store/mail.js';
import { openProfile, type Profile } from '../../hisp/store/profile.js';
import { serveInProcess, type Served } from '../services/cliIo.js';
import { freePort } from '../services/ports.js';
import {
  bridgeCall,
  bridgeError,
  bridgeResult,
  createPracticePki,
  initPracticeProfile,
  pollUntil,
  practiceKeySource,
  startLoopbackDns,
  type PkiFiles,
} from '../services/practices.js';
import { makeTempDir, type TempDir } from '../services/tmp.js';

const PASS = 'domain-bound from test passphrase';
const A_DOMAIN = 'practice-a.test';
const FRONT_DESK = `frontdesk@${A_DOMAIN}`;
const B = { name: 'practice-b', domain: 'practice-b.test', address: 'dr.baker@practice-b.test' };

let tmp: TempDir;
let dns: DnsResponder;
let files: PkiFiles;
/** The fingerprint of A's domain-bound certificate. */
let aFingerprint: string;
const opened: Profile[] = [];

const dirA = (): string => join(tmp.path, 'practice-a');
const dirB = (): string => join(tmp.path, B.name);

beforeAll(async () => {
  tmp = await makeTempDir('domain-bound-from');
  const pki = await createPracticePki(tmp.path, {
    anchorName: 'Domain-bound From Test Anchor',
    practices: [B],
  });
  files = pki.files;
  // A's HISP-wide certificate: the domain only, as a dNSName.
  const aKey = await generateKey();
  const aCert = parseCertificate(
    issueCertificate({
      subject: { commonName: A_DOMAIN },
      issuer: pki.issuer,
      key: aKey,
      dnsNames: [A_DOMAIN],
    }),
  );
  expect(aCert.rfc822Names).toEqual([]);
  expect(aCert.dnsNames).toEqual([A_DOMAIN]);
  aFingerprint = aCert.fingerprintSha256;
  const [b] = pki.practices;
  dns = await startLoopbackDns([
    { domain: A_DOMAIN, certificates: [aCert] },
    { domain: B.domain, certificates: [b.cert] },
  ]);
  for (const [dir, identity, domain] of [
    [dirA(), { key: aKey, cert: aCert }, A_DOMAIN],
    [dirB(), b, B.domain],
  ] as const) {
    const { profile } = await initPracticeProfile(dir, {
      passphrase: PASS,
      identity,
      anchor: pki.anchor,
      domain,
    });
    profile.close();
  }
}, 60_000);

afterAll(async () => {
  for (const profile of opened) profile.close();
  await dns?.close();
  await tmp?.remove();
});

/** `sealpost serve` on `dir`: inbound SMTP on `own`, relaying to the other's `other`. */
async function serve(dir: string, own: number, other: number): Promise<Served> {
  const config = join(tmp.path, `${own}.serve.json`);
  await writeFile(
    config,
    JSON.stringify({
      inbound: { listen: `127.0.0.1:${own}`, tlsCert: files.tlsCert, tlsKey: files.tlsKey },
      relay: {
        smarthost: { host: 'localhost', port: other, secure: 'starttls', ca: files.anchor },
      },
      dns: [`127.0.0.1:${dns.port}`],
    }),
  );
  return serveInProcess(
    ['--profile', dir, '--pass', 'env:PASS', '--listen', '127.0.0.1:0', '--config', config],
    { env: { PASS }, root: tmp.path, profileDir: dir },
  );
}

/** A second connection to a profile a running serve holds open (WAL allows it). */
async function peek(dir: string): Promise<MailStore> {
  const profile = await openProfile(dir, { keySourceFor: () => practiceKeySource(dir, PASS) });
  opened.push(profile);
  return new MailStore(profile);
}

describe('a domain-bound identity sends from any address at its domain (sealpost serve)', () => {
  let a: Served | undefined;
  let b: Served | undefined;
  const logs = (): string => (b?.err().slice(-4000) ?? '') + (a?.err().slice(-4000) ?? '');
  const served = (): { a: Served; b: Served } => {
    if (a === undefined || b === undefined) throw new Error('setup failed (see beforeAll)');
    return { a, b };
  };

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    b = await serve(dirB(), portB, portA);
    a = await serve(dirA(), portA, portB);
  });

  afterAll(async () => {
    const codes = [await a?.stop(), await b?.stop()];
    expect(codes.filter((code) => code !== undefined && code !== 0)).toEqual([]);
  });

  it('identities lists it as "@domain", bound to the domain, as the contract says', async () => {
    const { identities } = await bridgeResult<{
      identities: { address: string; bound: string; fingerprintSha256: string }[];
    }>(served().a, 'identities', {});
    expect(identities).toEqual([
      expect.objectContaining({
        address: `@${A_DOMAIN}`,
        bound: 'domain',
        fingerprintSha256: aFingerprint,
      }),
    ]);
  });

  it('frontdesk@ reaches B trusted, signed by the domain certificate, and B’s MDN comes back to it', async () => {
    const { a, b } = served();
    // The compose window checks the recipients with the address typed.
    const checked = await bridgeResult<{ recipients: { address: string; state: string }[] }>(
      a,
      'checkRecipients',
      { from: FRONT_DESK, addresses: [B.address] },
    );
    expect(checked.recipients).toEqual([
      expect.objectContaining({ address: B.address, state: 'found' }),
    ]);

    const subject = 'From the front desk: appointment moved';
    const sent = await bridgeResult<{
      id: number;
      messageId: string;
      recipients: { address: string; state: string }[];
    }>(a, 'sendMessage', {
      from: FRONT_DESK,
      to: [B.address],
      subject,
      text: 'Mrs Doe’s appointment is moved to Thursday 10:00.',
    });
    expect(sent.recipients.map((r) => [r.address, r.state])).toEqual([[B.address, 'queued']]);
    expect(sent.messageId).toMatch(/@practice-a\.test>$/);

    // B: in the Inbox, trusted, from frontdesk@, signed by A's domain certificate.
    const storeB = await peek(dirB());
    const row = await pollUntil(
      'the message in B’s inbox',
      () => storeB.list('inbox').find((r) => r.subject === subject),
      logs,
    );
    expect(row.trusted).toBe(true);
    const message = await bridgeResult<OpenedMessage>(b, 'openMessage', { id: row.id });
    expect(message.from).toContain(FRONT_DESK);
    expect(message.text).toContain('moved to Thursday');
    expect(message.verification.trusted).toBe(true);
    expect(message.verification.signerSubject).toContain(A_DOMAIN);

    // A: B's processed notification went to frontdesk@, encrypted to the domain certificate.
    const storeA = await peek(dirA());
    const tracked = await pollUntil(
      'B’s MDN applied at A',
      () => {
        const rows = storeA.mdnFor(sent.id);
        return rows.length > 0 && rows.every((r) => r.state !== 'pending') ? rows : undefined;
      },
      logs,
    );
    expect(tracked.map((r) => r.recipient)).toEqual([B.address]);
    expect(['processed', 'dispatched']).toContain(tracked[0]?.state);
    expect(storeA.list('sent').find((r) => r.id === sent.id)?.sender).toContain(FRONT_DESK);
  });

  it('an address at another domain is not the identity’s: refused, nothing sent', async () => {
    const { a } = served();
    const refused = await bridgeError(a, 'sendMessage', {
      from: 'frontdesk@elsewhere.test',
      to: [B.address],
      subject: 'Not ours',
      text: 'x',
    });
    expect(refused.code).toBe('IDENTITY_NOT_FOUND');
    expect((await bridgeCall(a, 'status', {})).ok).toBe(true);
  });
});
