import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrlCache, parseCrl } from '../../hisp/certs/crl.js';
import { OcspCache, type OcspAnswer } from '../../hisp/certs/ocsp.js';
import { certCacheBacking } from '../../hisp/store/certCache.js';
import { EncryptedDatabase } from '../../hisp/store/database.js';
import { DAY, TestPki, type Issued } from './certs-fixtures.js';

let pki: TestPki;
let ca: Issued;
let leaf: Issued;
let db: EncryptedDatabase;
let now = Date.now();

beforeAll(async () => {
  pki = await TestPki.create('cert-cache');
  ca = await pki.root('cache-ca');
  leaf = await pki.issue(ca, 'cache-leaf', {
    subject: '/O=Cache Tests/CN=Leaf',
    extensions: ['basicConstraints=critical,CA:FALSE'],
  });
  db = EncryptedDatabase.open({ file: join(pki.dir, 'db'), key: randomBytes(32) });
});

afterAll(async () => {
  db.close();
  await pki.remove();
});

const clock = () => now;
const dateClock = () => new Date(now);

describe('risk-12 certificate cache in the profile database (migration 5)', () => {
  it('a CRL kept by one run is there for the next, until its nextUpdate', async () => {
    const der = await pki.crl(ca, { nextUpdate: new Date(now + DAY) });
    const url = 'http://crl.example/ca.crl';
    const first = new CrlCache({
      now: dateClock,
      backing: certCacheBacking(() => db, 'crl', clock),
    });
    first.set(url, parseCrl(der));

    const restarted = new CrlCache({
      now: dateClock,
      backing: certCacheBacking(() => db, 'crl', clock),
    });
    expect(restarted.get(url)?.der.equals(der)).toBe(true);
    expect(restarted.size).toBe(1); // now in memory too

    now += DAY + 1000; // past nextUpdate
    const later = new CrlCache({
      now: dateClock,
      backing: certCacheBacking(() => db, 'crl', clock),
    });
    expect(later.get(url)).toBeUndefined();
    // The next write sweeps expired rows.
    certCacheBacking(() => db, 'crl', clock).set('other', Buffer.from('x'), now + 1000);
    expect(
      db.read((sql) => sql.prepare("SELECT key FROM cert_cache WHERE kind = 'crl'").all()),
    ).toEqual([{ key: 'other' }]);
  });

  it('an OCSP answer survives a restart with its dates', () => {
    const thisUpdate = new Date(now - 1000);
    const answer: OcspAnswer = {
      status: 'revoked',
      detail: 'the responder says revoked',
      revocationTime: new Date(now - 5000),
      revocationReason: 1,
      thisUpdate,
      nextUpdate: new Date(now + 60_000),
      signer: 'the issuer',
      url: 'http://ocsp.example/',
    };
    new OcspCache({ now: dateClock, backing: certCacheBacking(() => db, 'ocsp', clock) }).set(
      leaf.cert,
      ca.cert,
      answer,
    );
    const restarted = new OcspCache({
      now: dateClock,
      backing: certCacheBacking(() => db, 'ocsp', clock),
    });
    expect(restarted.get(leaf.cert, ca.cert)).toEqual(answer);
    expect(restarted.get(ca.cert, ca.cert)).toBeUndefined();
  });

  it('a locked profile (closed database) is a cache miss, never an error', () => {
    const closed = EncryptedDatabase.open({ file: join(pki.dir, 'closed'), key: randomBytes(32) });
    closed.close();
    const backing = certCacheBacking(() => closed, 'crl', clock);
    expect(() => backing.set('u', Buffer.from('x'), now + 1000)).not.toThrow();
    expect(backing.get('u')).toBeUndefined();
    expect(certCacheBacking(() => undefined, 'ocsp', clock).get('u')).toBeUndefined();
  });

  it('garbage in the table is a miss', () => {
    certCacheBacking(() => db, 'crl', clock).set('bad', Buffer.from('not a CRL'), now + 60_000);
    certCacheBacking(() => db, 'ocsp', clock).set(
      'bad',
      Buffer.from('{"status":"maybe"}'),
      now + 60_000,
    );
    expect(
      new CrlCache({ now: dateClock, backing: certCacheBacking(() => db, 'crl', clock) }).get(
        'bad',
      ),
    ).toBeUndefined();
    const ocsp = new OcspCache({
      now: dateClock,
      backing: certCacheBacking(() => db, 'ocsp', clock),
    });
    expect(ocsp.get(leaf.cert, ca.cert)).toBeDefined(); // the good one from before
  });
});
