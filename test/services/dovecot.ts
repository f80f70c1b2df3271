/**
 * A private Dovecot IMAP server (Debian `dovecot-imapd`): `dovecot -F -c <dir>/dovecot.conf`
 * on 127.0.0.1 with ports chosen at run time, `ssl = required` with a throwaway self-signed
 * certificate (SAN localhost + IP 127.0.0.1), passwd-file users with PLAIN passwords and
 * Maildir storage in the temp dir.
 *
 * Note: Dovecot treats 127.0.0.1 as a secure network, so plaintext LOGIN works on the
 * STARTTLS port without upgrading. That is not proof that a client enforces TLS.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createSelfSignedServerCert } from './certs.js';
import { freePorts, LOOPBACK } from './ports.js';
import { findBinary, spawnDaemon, waitForPort, withStartRetries, stopOnce } from './proc.js';
import type { ServiceHandle } from './proc.js';
import { makeTempDir } from './tmp.js';

export interface DovecotOptions {
  /** First user created. Default "alice@example.test". */
  user?: string;
  /** Its password. Default: random. */
  password?: string;
}

export interface DovecotHandle extends ServiceHandle {
  /** Plain IMAP port offering STARTTLS (same as `imapPort`). */
  readonly port: number;
  readonly imapPort: number;
  /** Implicit-TLS IMAP port. */
  readonly imapsPort: number;
  readonly user: string;
  readonly password: string;
  /** PEM of the server's self-signed certificate: trust it with `tls: { ca: [caPem] }`. */
  readonly caPem: string;
  readonly certPath: string;
  readonly logPath: string;
  /** Add a login (a new passwd-file for that user; no restart needed). */
  addUser(user: string, password: string): Promise<void>;
  /** The Maildir of a user (created on first login/delivery). */
  maildir(user: string): string;
}

/** Start Dovecot; ready when the IMAP and IMAPS ports accept connections (~0.1 s). */
export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotHandle> {
  const dovecot = findBinary('dovecot', 'dovecot-imapd');
  // imap binary comes from dovecot-imapd; without it logins fail later with a vague error.
  findBinary('/usr/lib/dovecot/imap', 'dovecot-imapd');
  const user = options.user ?? 'alice@example.test';
  const password = options.password ?? randomBytes(12).toString('hex');

  // Dovecot drops privileges (login: dovenull, auth: dovecot, mail: 65534): the dir must be traversable.
  const tmp = await makeTempDir('dovecot', 0o755);
  const dir = tmp.path;
  try {
    const isRoot = process.getuid?.() === 0;
    const uid = isRoot ? 65534 : (process.getuid?.() ?? 65534);
    const gid = isRoot ? 65534 : (process.getgid?.() ?? 65534);
    const mailRoot = join(dir, 'mail');
    await mkdir(mailRoot, { mode: 0o755 });
    if (isRoot) await chown(mailRoot, uid, gid);
    const cert = await createSelfSignedServerCert(dir, { name: 'server' });
    await chmod(cert.keyPath, 0o600);
    // One passwd-file per user (path with %u): Dovecot re-reads a changed passwd-file at most
    // once per second, so appending to one shared file right after a login is not seen.
    const usersDir = join(dir, 'users');
    await mkdir(usersDir, { mode: 0o755 });
    const writeUser = async (u: string, p: string): Promise<void> => {
      if (!/^[A-Za-z0-9._+-]+(@[A-Za-z0-9.-]+)?$/.test(u))
        throw new Error(`dovecot: unsupported user name ${u}`);
      if (/[:\n]/.test(p)) throw new Error('dovecot: password must not contain ":" or a newline');
      await writeFile(join(usersDir, u), `${u}:{PLAIN}${p}::::::\n`, { mode: 0o644 });
    };
    await writeUser(user, password);
    const logPath = join(dir, 'dovecot.log');

    return await withStartRetries(3, async () => {
      const [imapPort, imapsPort] = (await freePorts(2)) as [number, number];
      const confPath = join(dir, 'dovecot.conf');
      const unprivileged = isRoot
        ? ''
        : `default_internal_user = ${process.env['USER'] ?? 'nobody'}\n` +
          `default_login_user = ${process.env['USER'] ?? 'nobody'}\n`;
      await writeFile(
        confPath,
        `# Sealpost test Dovecot (generated)
protocols = imap
listen = ${LOOPBACK}
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${logPath}
info_log_path = ${logPath}
debug_log_path = ${logPath}
${unprivileged}ssl = required
ssl_cert = <${cert.certPath}
ssl_key = <${cert.keyPath}
auth_mechanisms = plain login
# No 2 s penalty after a failed login: wrong-password tests stay fast.
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${usersDir}/%u
}
userdb {
  driver = passwd-file
  args = ${usersDir}/%u
  default_fields = uid=${uid} gid=${gid} home=${mailRoot}/%d/%n
}
# No anvil auth penalty (2 s, 4 s, ... before the next login from an IP after a failure):
# tests log in from 127.0.0.1 over and over. mode 0 makes the socket unusable -> disabled.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  inet_listener imap {
    address = ${LOOPBACK}
    port = ${imapPort}
  }
  inet_listener imaps {
    address = ${LOOPBACK}
    port = ${imapsPort}
    ssl = yes
  }
}
`,
      );
      const daemon = spawnDaemon({
        name: 'dovecot',
        command: dovecot,
        args: ['-F', '-c', confPath],
        logFiles: [logPath],
        // The master waits 1-5 s for its login processes after SIGTERM; test data needs no
        // graceful shutdown, so SIGKILL the process group after a short grace.
        stopGraceMs: 300,
      });
      try {
        await waitForPort(LOOPBACK, imapPort, { daemon, timeoutMs: 10_000 });
        await waitForPort(LOOPBACK, imapsPort, { daemon, timeoutMs: 10_000 });
      } catch (err) {
        await daemon.stop();
        throw err;
      }
      const handle: DovecotHandle = {
        host: LOOPBACK,
        port: imapPort,
        imapPort,
        imapsPort,
        dir,
        pid: daemon.pid,
        user,
        password,
        caPem: cert.certPem,
        certPath: cert.certPath,
        logPath,
        output: () => daemon.output(),
        addUser: writeUser,
        maildir: (u) => {
          const at = u.lastIndexOf('@');
          const [name, domain] = at >= 0 ? [u.slice(0, at), u.slice(at + 1)] : [u, ''];
          return join(mailRoot, domain, name, 'Maildir');
        },
        stop: stopOnce(() => daemon.stop(), tmp),
      };
      return handle;
    });
  } catch (err) {
    await tmp.remove();
    throw err;
  }
}
