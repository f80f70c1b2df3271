/**
 * The Direct reference implementation's test identities (../shared/interop/java-ri): Greg
 * (gm2552@securehealthemail.com) writes to Ryan (ryan@securehealthemail.com) under the
 * secureHealthEmail CA, which signs with SHA-1 — so these helpers opt in to SHA-1 certificate
 * signatures, as the interop README's "must be trusted" requires. Shared by the mailbox,
 * relay and export tests.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decryptAndVerify, type InboundKey } from '../../hisp/agent/inbound.js';
import { signAndEncrypt } from '../../hisp/agent/outbound.js';
import { collect } from '../../hisp/agent/types.js';
import { parseCertificate, type ParsedCertificate } from '../../hisp/certs/certificate.js';
import { createSilentLogger, type Logger } from '../../hisp/log/logger.js';
import type { OpenFn } from '../../hisp/store/mail.js';
import { INTEROP_DIR } from './certs-fixtures.js';

const der = (name: string) => readFileSync(join(INTEROP_DIR, 'java-ri', name));
const key = (name: string) => createPrivateKey({ key: der(name), format: 'der', type: 'pkcs8' });

/** A time at which the reference implementation's certificates are valid. */
export const RI_AT = new Date('2026-11-01T00:00:00Z');
export const GREG = 'gm2552@securehealthemail.com';
export const RYAN = 'ryan@securehealthemail.com';
export const greg = { certDer: der('gm2552.der'), chainDer: [], key: key('gm2552Key.der') };
export const ryan = { certDer: der('ryan.der'), key: key('ryanKey.der') };
export const riAnchor = parseCertificate(der('secureHealthEmailCACert.der'));

/** An OpenFn (decrypt + verify, revocation off) for the given keys and anchors. */
export function riOpener(
  keys: readonly InboundKey[],
  options: { anchors?: readonly ParsedCertificate[]; at?: Date; logger?: Logger } = {},
): OpenFn {
  return async (raw, hints) => {
    const result = await decryptAndVerify(raw, {
      consumeInput: hints?.owned === true,
      keys,
      anchors: options.anchors ?? [riAnchor],
      at: options.at ?? RI_AT,
      revocation: 'off',
      allowSha1CertificateSignatures: true,
      logger: options.logger ?? createSilentLogger(),
    });
    return {
      inner: result.inner,
      verification: {
        trusted: result.trusted,
        signer: result.signer?.address,
        reasons: result.reasons,
      },
    };
  };
}

/** `inner` signed by Greg and encrypted to Ryan (and Greg): the Direct message bytes. */
export function riDirect(inner: Buffer, now: Date = RI_AT): Buffer {
  return collect(
    signAndEncrypt(inner, greg, [ryan.certDer], { now, allowSha1CertificateSignatures: true })
      .message,
  );
}
