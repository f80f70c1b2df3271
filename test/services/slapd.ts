/**
 * A private OpenLDAP server (Debian `slapd ldap-utils`): `slapd -f <dir>/slapd.conf
 * -h ldap://127.0.0.1:PORT/ -d none` with an mdb database in the temp dir, the core, cosine
 * and inetorgperson schemas, anonymous read access, and a base entry. Entries are loaded
 * with `ldapadd` as the rootdn.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { freePort, LOOPBACK } from './ports.js';
import {
  findBinary,
  requireFile,
  run,
  spawnDaemon,
  waitForPort,
  withStartRetries,
  stopOnce,
} from './proc.js';
import type { RunResult, ServiceHandle } from './proc.js';
import { makeTempDir } from './tmp.js';

export interface SlapdOptions {
  /** Default "dc=example,dc=test". Must be a dc=...,dc=... DN (the base entry is a dcObject). */
  baseDn?: string;
  /** LDIF loaded right after start (after the base entry). */
  ldif?: string;
}

export interface SlapdHandle extends ServiceHandle {
  /** ldap://127.0.0.1:PORT */
  readonly url: string;
  readonly baseDn: string;
  readonly adminDn: string;
  readonly adminPassword: string;
  /** Add entries as the rootdn with `ldapadd` (LDIF on stdin). */
  ldapAdd(ldif: string): Promise<RunResult>;
}

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

/**
 * An inetOrgPerson entry with `mail` and `userCertificate;binary` (DER, base64 in LDIF).
 * `dn` defaults to `cn=<mail>,<baseDn>`.
 */
export function personLdif(baseDn: string, mail: string, certDer?: Buffer, dn?: string): string {
  const local = mail.split('@')[0] ?? mail;
  const lines = [
    `dn: ${dn ?? `cn=${mail},${baseDn}`}`,
    'objectClass: inetOrgPerson',
    `cn: ${mail}`,
    `sn: ${local}`,
    `mail: ${mail}`,
  ];
  if (certDer) lines.push(`userCertificate;binary:: ${certDer.toString('base64')}`);
  return lines.join('\n') + '\n';
}

/** Start slapd (~0.03 s) and create the base entry. */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdHandle> {
  const slapd = findBinary('slapd', 'slapd');
  const ldapadd = findBinary('ldapadd', 'ldap-utils');
  for (const schema of ['core', 'cosine', 'inetorgperson'])
    requireFile(join(SCHEMA_DIR, `${schema}.schema`), 'slapd');
  requireFile(join(MODULE_DIR, 'back_mdb.so'), 'slapd');
  const baseDn = options.baseDn ?? 'dc=example,dc=test';
  const firstDc = /^dc=([^,]+)/i.exec(baseDn)?.[1];
  if (!firstDc) throw new Error(`slapd: baseDn must start with dc=...: ${baseDn}`);
  const adminDn = `cn=admin,${baseDn}`;
  const adminPassword = randomBytes(12).toString('hex');

  const tmp = await makeTempDir('slapd');
  const dir = tmp.path;
  try {
    const dataDir = join(dir, 'data');
    await mkdir(dataDir, { mode: 0o700 });
    const confPath = join(dir, 'slapd.conf');
    await writeFile(
      confPath,
      `# Sealpost test slapd (generated)
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
modulepath ${MODULE_DIR}
moduleload back_mdb
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args

database mdb
maxsize 67108864
suffix "${baseDn}"
rootdn "${adminDn}"
rootpw ${adminPassword}
directory ${dataDir}
index objectClass eq
index mail eq
access to * by * read
`,
      { mode: 0o600 },
    );

    return await withStartRetries(3, async () => {
      const port = await freePort();
      const url = `ldap://${LOOPBACK}:${port}/`;
      // `-d none` keeps slapd in the foreground like `-d 0`, but still prints fatal errors
      // (e.g. "bind(6) failed errno=98 (Address already in use)"); `-d 0` prints nothing.
      const daemon = spawnDaemon({
        name: 'slapd',
        command: slapd,
        args: ['-f', confPath, '-h', url, '-d', 'none'],
      });
      try {
        await waitForPort(LOOPBACK, port, { daemon });
      } catch (err) {
        await daemon.stop();
        throw err;
      }
      const ldapAdd = (ldif: string): Promise<RunResult> =>
        run(ldapadd, ['-x', '-H', url, '-D', adminDn, '-w', adminPassword], { input: ldif });
      const handle: SlapdHandle = {
        host: LOOPBACK,
        port,
        url: `ldap://${LOOPBACK}:${port}`,
        dir,
        pid: daemon.pid,
        baseDn,
        adminDn,
        adminPassword,
        output: () => daemon.output(),
        ldapAdd,
        stop: stopOnce(() => daemon.stop(), tmp),
      };
      try {
        await ldapAdd(
          `dn: ${baseDn}\nobjectClass: dcObject\nobjectClass: organization\ndc: ${firstDc}\no: ${firstDc}\n`,
        );
        if (options.ldif) await ldapAdd(options.ldif);
      } catch (err) {
        await daemon.stop();
        throw err;
      }
      return handle;
    });
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}
