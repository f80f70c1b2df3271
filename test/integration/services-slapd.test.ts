import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestCa, issueEndEntityCert, personLdif, startSlapd } from '../services/index.js';
import type { SlapdHandle, TestEndEntity } from '../services/index.js';

const ADDRESS = 'alice@example.test';

describe('services: slapd serving userCertificate;binary (real server)', () => {
  let slapd: SlapdHandle | undefined;
  let alice: TestEndEntity | undefined;

  beforeAll(async () => {
    slapd = await startSlapd({ baseDn: 'dc=example,dc=test' });
    // Certificates go into the slapd temp dir: removed with it by stop().
    const ca = await createTestCa(slapd.dir);
    alice = await issueEndEntityCert(ca, slapd.dir, { email: ADDRESS });
    await slapd.ldapAdd(
      [
        'dn: ou=people,dc=example,dc=test',
        'objectClass: organizationalUnit',
        'ou: people',
        '',
        personLdif(slapd.baseDn, ADDRESS, alice.certDer, `cn=alice,ou=people,${slapd.baseDn}`),
        personLdif(
          slapd.baseDn,
          'nocert@example.test',
          undefined,
          `cn=nocert,ou=people,${slapd.baseDn}`,
        ),
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await slapd?.stop();
  });

  function ready(): { slapd: SlapdHandle; alice: TestEndEntity } {
    if (!slapd || !alice) throw new Error('slapd did not start');
    return { slapd, alice };
  }

  it('binds anonymously, finds the base DN in namingContexts and reads the DER certificate', async () => {
    const { slapd: ldap, alice: cert } = ready();
    const client = new Client({ url: ldap.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind('', ''); // anonymous simple bind

      const rootDse = await client.search('', {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['namingContexts'],
      });
      expect(rootDse.searchEntries).toHaveLength(1);
      const contexts = rootDse.searchEntries[0]?.['namingContexts'];
      const baseDn = Array.isArray(contexts) ? contexts[0] : contexts;
      expect(baseDn).toBe('dc=example,dc=test');
      if (typeof baseDn !== 'string') throw new Error('no namingContexts');

      const { searchEntries } = await client.search(baseDn, {
        scope: 'sub',
        filter: `(mail=${ADDRESS})`,
        attributes: ['userCertificate;binary'],
      });
      expect(searchEntries).toHaveLength(1);
      const entry = searchEntries[0];
      expect(entry?.dn).toBe('cn=alice,ou=people,dc=example,dc=test');
      const value = entry?.['userCertificate;binary'];
      const values = Array.isArray(value) ? value : [value];
      expect(values).toHaveLength(1);
      const der = values[0];
      expect(Buffer.isBuffer(der)).toBe(true);
      expect(Buffer.isBuffer(der) && der.equals(cert.certDer)).toBe(true);
    } finally {
      await client.unbind();
    }
  });

  it('returns no certificate for an entry without one and nothing for an unknown address', async () => {
    const { slapd: ldap } = ready();
    const client = new Client({ url: ldap.url, timeout: 5000, connectTimeout: 5000 });
    try {
      const nocert = await client.search(ldap.baseDn, {
        filter: '(mail=nocert@example.test)',
        attributes: ['userCertificate;binary'],
      });
      expect(nocert.searchEntries).toHaveLength(1);
      // ldapts lists a requested attribute the entry lacks as [].
      expect([nocert.searchEntries[0]?.['userCertificate;binary'] ?? []].flat()).toEqual([]);

      const unknown = await client.search(ldap.baseDn, { filter: '(mail=nobody@example.test)' });
      expect(unknown.searchEntries).toHaveLength(0);
    } finally {
      await client.unbind();
    }
  });

  it('refuses anonymous writes (only the rootdn used by ldapAdd can write)', async () => {
    const { slapd: ldap } = ready();
    const client = new Client({ url: ldap.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await expect(
        client.add(`cn=mallory,${ldap.baseDn}`, {
          objectClass: 'inetOrgPerson',
          cn: 'mallory',
          sn: 'm',
        }),
      ).rejects.toThrow(/modifications require authentication/i);
    } finally {
      await client.unbind();
    }
  });
});
