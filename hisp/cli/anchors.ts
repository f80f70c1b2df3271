/**
 * `sealpost anchors import|list|remove`: the profile's trust anchors by hand, per local
 * domain and direction (DESIGN.md §4 "Trust"). Anchors from trust bundles are listed here
 * too, with their bundle, and changed with `sealpost bundles`.
 */
import { HispError } from '../api/errors.js';
import { AGENT_LIMITS } from '../agent/limits.js';
import type { ParsedCertificate } from '../certs/certificate.js';
import { checkAnchors, readAnchorCertificates } from '../certs/trust/anchors.js';
import {
  ALL_DOMAINS,
  TrustStore,
  type AnchorRecord,
  type TrustDirections,
} from '../certs/trust/store.js';
import { parseCommandArgs } from './args.js';
import { readInputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { openProfileFromArgs, PROFILE_OPTIONS, PROFILE_OPTIONS_HELP } from './profileAccess.js';

export const ANCHORS_HELP = `Usage: sealpost anchors import --profile DIR [--domain DOMAIN] [--direction DIR] FILE...
       sealpost anchors list   --profile DIR [--domain DOMAIN] [--direction inbound|outbound] [--json]
       sealpost anchors remove --profile DIR [--domain DOMAIN] [--direction DIR] FINGERPRINT

Trust anchors decide whose Direct messages you accept (inbound: the senders' certificates
must chain to one) and to whom you send (outbound: the recipients' certificates must chain
to one), per local domain of the practice.

import   adds every certificate in each FILE (PEM with one or more certificates, DER, or a
         PKCS#7 .p7b bundle). Expired certificates and weak keys are refused.
list     shows the anchors, each with where it came from (by hand, or its trust bundle).
remove   removes an anchor added by hand, named by its SHA-256 fingerprint (or a unique
         prefix of at least 8 hex digits). Anchors from a bundle go with their bundle.

Options:
${PROFILE_OPTIONS_HELP}
  --domain DOMAIN      the local domain the anchors serve (default: every local domain, '*')
  --direction DIR      inbound, outbound or both (default both; list: both shown)
  --json               list as JSON

Exit codes: 0 done; 1 usage or unreadable input; 2 not done (the message says why).
`;

export function parseDirection(command: string, value: string | undefined): TrustDirections {
  const direction = value ?? 'both';
  if (direction !== 'inbound' && direction !== 'outbound' && direction !== 'both') {
    throw new UsageError(
      command,
      `--direction must be inbound, outbound or both, not ${JSON.stringify(direction)}`,
    );
  }
  return direction;
}

/** Certificates from a PEM/DER certificate file or a PKCS#7 bundle file. */
async function readAnchorFile(command: string, path: string): Promise<ParsedCertificate[]> {
  const bytes = await readInputFile(command, 'FILE', path, AGENT_LIMITS.fetchedCertificateBytes);
  return readAnchorCertificates(bytes);
}

function describeAnchors(anchors: readonly AnchorRecord[]): string {
  if (anchors.length === 0) return 'No trust anchors.\n';
  return anchors
    .map(
      (anchor) =>
        `${anchor.fingerprintSha256}  ${anchor.domain === ALL_DOMAINS ? '*' : anchor.domain}  ${anchor.direction}  ${
          anchor.origin.kind === 'manual' ? 'by hand' : `bundle ${anchor.origin.name}`
        }  until ${anchor.notAfter.slice(0, 10)}  ${anchor.subject}\n`,
    )
    .join('');
}

export async function anchorsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'import' && sub !== 'list' && sub !== 'remove') {
    throw new UsageError(
      'anchors',
      sub === undefined
        ? 'say import, list or remove'
        : `unknown subcommand ${JSON.stringify(sub)}: say import, list or remove`,
    );
  }
  const command = `anchors ${sub}`;
  const { values, positionals } = parseCommandArgs(
    command,
    rest,
    {
      ...PROFILE_OPTIONS,
      domain: { type: 'string' },
      direction: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const direction = parseDirection(command, values.direction);
  if (sub !== 'list' && values.json === true) throw new UsageError(command, '--json is for list');

  if (sub === 'import') {
    if (positionals.length === 0) throw new UsageError(command, 'name at least one FILE');
    const certs: ParsedCertificate[] = [];
    const now = new Date();
    for (const path of positionals) {
      const { usable, refused } = checkAnchors(await readAnchorFile(command, path), now);
      for (const { reasons } of refused) {
        io.stderr(
          `sealpost ${command}: ${path}: not imported: ${reasons.map((reason) => reason.message).join(' ')}\n`,
        );
      }
      certs.push(...usable);
    }
    if (certs.length === 0) {
      throw new HispError('ANCHOR_NOT_FOUND', 'No usable certificate was found to import.');
    }
    const profile = await openProfileFromArgs(command, values, io);
    try {
      const domain = values.domain ?? ALL_DOMAINS;
      const { added, already } = TrustStore.forProfile(profile).addAnchors(certs, {
        domain,
        direction,
      });
      for (const cert of certs) {
        const fingerprint = cert.fingerprintSha256;
        io.stdout(
          `${added.includes(fingerprint) ? 'added' : already.includes(fingerprint) ? 'already there' : 'added'}  ${fingerprint}  ${cert.subject}\n`,
        );
      }
      io.stdout(
        `${added.length} anchor(s) added for ${domain === ALL_DOMAINS ? 'every local domain' : domain}, ${direction}.\n`,
      );
    } finally {
      profile.close();
    }
    return 0;
  }

  const profile = await openProfileFromArgs(command, values, io);
  try {
    const store = TrustStore.forProfile(profile);
    if (sub === 'list') {
      if (positionals.length > 0) throw new UsageError(command, 'list takes no FILE');
      const anchors = store.listAnchors({
        ...(values.domain === undefined ? {} : { domain: values.domain }),
        ...(direction === 'both' ? {} : { direction }),
      });
      io.stdout(
        values.json === true ? `${JSON.stringify(anchors, null, 2)}\n` : describeAnchors(anchors),
      );
      return 0;
    }
    const [fingerprint, ...extra] = positionals;
    if (fingerprint === undefined || extra.length > 0) {
      throw new UsageError(command, 'name exactly one FINGERPRINT');
    }
    const removed = store.removeAnchor(fingerprint, {
      ...(values.domain === undefined ? {} : { domain: values.domain }),
      direction,
    });
    io.stdout(describeAnchors(removed).replace(/^/gm, 'removed  '));
    return 0;
  } finally {
    profile.close();
  }
}
