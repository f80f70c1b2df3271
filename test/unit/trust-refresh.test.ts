import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BundleRefresher,
  FAILED_RETRY_SECONDS,
  refreshBundle,
  refreshDueBundles,
  type RefreshOutcome,
} from '../../hisp/certs/trust/refresh.js';
import { TrustStore } from '../../hisp/certs/trust/store.js';
import { createLogger } from '../../hisp/log/logger.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { opensslUnsignedBundle } from '../services/openssl-direct.js';
import { TestPki, type Issued } from './certs-fixtures.js';

const logger = createLogger({ level: 'error', sink: () => undefined });
let pki: TestPki;
let roots: Issued[];
let bundleA: string;
let bundleAB: string;
let db: EncryptedDatabase;
// From the real time: the test certificates are valid from shortly before they were made.
let clock = new Date();
let store: TrustStore;

const p7b = (name: string, certs: Issued[]) => opensslUnsignedBundle(pki.dir, name, certs);

beforeAll(async () => {
  pki = await TestPki.create('trust-refresh');
  roots = await Promise.all(['A', 'B'].map((name) => pki.root(`root-${name}`)));
  bundleA = await p7b('a', [roots[0]!]);
  bundleAB = await p7b('ab', roots);
  db = EncryptedDatabase.open({ file: join(pki.dir, 'db'), key: randomBytes(32) });
  store = new TrustStore(db, { now: () => clock });
});

afterAll(async () => {
  db.close();
  await pki.remove();
});

const HOUR = 3600 * 1000;

describe('bundle refresh schedule', () => {
  it('a bundle is due when never checked and when its interval has passed; 0 means by hand only', async () => {
    const live = join(pki.dir, 'live.p7b');
    await writeFile(live, await readFile(bundleA));
    store.addBundle({
      name: 'daily',
      source: live,
      domain: '*',
      direction: 'both',
      refreshSeconds: 24 * 3600,
      requireSigned: false,
      signers: [],
    });
    store.addBundle({
      name: 'manual',
      source: bundleAB,
      domain: '*',
      direction: 'inbound',
      refreshSeconds: 0,
      requireSigned: false,
      signers: [],
    });

    const first = await refreshDueBundles(store, { logger, now: clock, at: clock });
    expect(first.map((outcome) => outcome.name)).toEqual(['daily']);
    expect(first[0]).toMatchObject({ ok: true, change: { unchanged: false } });

    clock = new Date(clock.getTime() + 23 * HOUR);
    expect(await refreshDueBundles(store, { logger, now: clock, at: clock })).toEqual([]);

    clock = new Date(clock.getTime() + HOUR);
    const again = await refreshDueBundles(store, { logger, now: clock, at: clock });
    expect(again).toMatchObject([{ name: 'daily', ok: true, change: { unchanged: true } }]);

    // By hand, the manual one refreshes too.
    expect(await refreshBundle(store, 'manual', { logger, at: clock })).toMatchObject({
      ok: true,
      change: { added: roots.map((root) => root.cert.fingerprintSha256) },
    });
  });

  it('a failed refresh keeps the anchors and is retried after the shorter retry period', async () => {
    const live = join(pki.dir, 'live.p7b');
    await rm(live);
    clock = new Date(clock.getTime() + 24 * HOUR);
    const failed = await refreshDueBundles(store, { logger, now: clock, at: clock });
    expect(failed).toMatchObject([{ name: 'daily', ok: false, reason: { code: 'FETCH_FAILED' } }]);
    expect(store.anchorsFor('x.example', 'outbound').map((cert) => cert.fingerprintSha256)).toEqual(
      [roots[0]!.cert.fingerprintSha256],
    );
    expect(store.getBundle('daily').lastError).toMatch(/^FETCH_FAILED: .*no such file/);

    clock = new Date(clock.getTime() + (FAILED_RETRY_SECONDS - 1) * 1000);
    expect(await refreshDueBundles(store, { logger, now: clock, at: clock })).toEqual([]);
    clock = new Date(clock.getTime() + 1000);
    await writeFile(live, await readFile(bundleAB));
    const recovered = await refreshDueBundles(store, { logger, now: clock, at: clock });
    expect(recovered).toMatchObject([
      {
        name: 'daily',
        ok: true,
        change: { added: [roots[1]!.cert.fingerprintSha256], removed: [] },
      },
    ]);
    expect(store.getBundle('daily').lastError).toBeUndefined();
  });

  it('a URL bundle with no fetcher (offline) fails without touching the anchors', async () => {
    store.addBundle({
      name: 'web',
      source: 'https://bundles.example/x.p7b',
      domain: '*',
      direction: 'both',
      refreshSeconds: 60,
      requireSigned: false,
      signers: [],
    });
    const outcome = await refreshBundle(store, 'web', { logger });
    expect(outcome).toMatchObject({ ok: false, reason: { code: 'FETCH_FAILED' } });
    store.removeBundle('web');
  });

  it('the refresher runs one pass at a time and reports each outcome', async () => {
    const outcomes: RefreshOutcome[] = [];
    clock = new Date(clock.getTime() + 48 * HOUR);
    const refresher = new BundleRefresher(store, {
      logger,
      pollMs: 3_600_000,
      onOutcome: (outcome) => outcomes.push(outcome),
      now: () => clock,
      at: clock,
    });
    const one = refresher.poll();
    const two = refresher.poll();
    expect(two).toBe(one);
    await one;
    await refresher.stop();
    expect(outcomes.map((outcome) => outcome.name)).toEqual(['daily']);
  });
});
