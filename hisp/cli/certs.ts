/**
 * `sealpost certs discover ADDRESS`: find a recipient's usable encryption certificates the way
 * the HISP does before sending (DESIGN.md §8). Prints them as PEM; --report writes JSON.
 */
import { getServers } from 'node:dns';
import { HispError } from '../api/errors.js';
import { AGENT_LIMITS } from '../agent/limits.js';
import { readCertificates, type ParsedCertificate } from '../certs/certificate.js';
import { CrlCache } from '../certs/crl.js';
import { discoverCertificates, type DiscoveryResult } from '../certs/discovery/discover.js';
import { zoneRecords } from '../certs/discovery/zone.js';
import { createHttpFetcher } from '../certs/fetch.js';
import { OcspCache } from '../certs/ocsp.js';
import { createLogger } from '../log/logger.js';
import { parseCommandArgs, parseDnsServer } from './args.js';
import { readInputFile, writeOutputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';

export const CERTS_HELP = `Usage: sealpost certs discover|zone ...

       sealpost certs zone --cert FILE [--cert FILE ...] [--mx HOST ...] [--ttl SECONDS]

Prints the DNS zone records that publish your own certificates for Direct discovery: a CERT
record (PKIX) per certificate at the address's DNS name (alice@example.org is published at
alice.example.org) or at the domain for a domain-bound certificate, and MX records for the
domains with --mx (preference 10, 20, … in the order given). Give them to your DNS host.

       sealpost certs discover ADDRESS [--dns HOST:PORT ...]
                              (--anchor CERT [--anchor CERT ...] |
                               --profile DIR [--pass SPEC] --from DOMAIN)
                              [--offline] [--revocation soft|hard|off]
                              [--allow-sha1-certificates] [--report FILE]

Finds the Direct certificates usable to encrypt to ADDRESS: DNS CERT records for the
address, then its domain; then, when DNS gave nothing usable, the directory found by the
_ldap._tcp SRV record. Each certificate must bind the address (or its domain), pass Direct
policy for encryption and chain to an --anchor; the usable ones are printed as PEM,
address-bound first.

Options:
  --dns HOST:PORT      DNS server (repeatable; default: this computer's resolvers)
  --anchor CERT        trust anchor, PEM or DER (repeatable)
  --profile DIR        or: use this profile's outbound anchors (and bundles) for the
  --from DOMAIN        local domain the message would be sent from
  --pass SPEC          a vault profile's passphrase: env:NAME or file:PATH
  --offline            fetch nothing over HTTP (IPKIX, AIA, OCSP, CRLs)
  --revocation MODE    soft (default): unknown status is reported; hard: it rejects; off
  --report FILE        JSON: {address, selected: [{fingerprintSha256, source, bound}],
                       rejected: [{fingerprintSha256, source, reason}]}

Exit codes: 0 at least one usable certificate; 1 usage or unreadable input; 5 none.
`;

export async function certsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'zone') return zone(rest, io);
  if (sub !== 'discover') {
    throw new UsageError(
      'certs',
      sub === undefined
        ? 'say discover or zone'
        : `unknown subcommand ${JSON.stringify(sub)}: say discover or zone`,
    );
  }
  const command = 'certs discover';
  const { values, positionals } = parseCommandArgs(
    command,
    rest,
    {
      dns: { type: 'string', multiple: true },
      anchor: { type: 'string', multiple: true },
      profile: { type: 'string' },
      pass: { type: 'string' },
      from: { type: 'string' },
      offline: { type: 'boolean' },
      revocation: { type: 'string' },
      'allow-sha1-certificates': { type: 'boolean' },
      report: { type: 'string' },
    },
    true,
  );
  const [address, ...extra] = positionals;
  if (address === undefined || extra.length > 0 || !/^[^@\s]+@[^@\s]+$/.test(address)) {
    throw new UsageError(command, 'give exactly one Direct address, e.g. alice@example.org');
  }
  const revocation = values.revocation ?? 'soft';
  if (revocation !== 'soft' && revocation !== 'hard' && revocation !== 'off') {
    throw new UsageError(
      command,
      `--revocation must be soft, hard or off, not ${JSON.stringify(revocation)}`,
    );
  }
  const fromProfile = values.profile !== undefined;
  if (fromProfile === (values.anchor !== undefined && values.anchor.length > 0)) {
    throw new UsageError(
      command,
      'give --anchor CERT (at least one) or --profile DIR --from DOMAIN: without anchors nothing can be trusted',
    );
  }
  if (fromProfile !== (values.from !== undefined)) {
    throw new UsageError(command, '--profile and --from DOMAIN go together');
  }
  const anchors: ParsedCertificate[] = [];
  if (fromProfile) anchors.push(...(await profileAnchors(command, values, io)));
  try {
    for (const path of values.anchor ?? []) {
      anchors.push(
        ...readCertificates(
          await readInputFile(command, '--anchor', path, AGENT_LIMITS.fetchedCertificateBytes),
        ),
      );
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.stderr(
      `sealpost ${command}: ${HispError.from(error).message} [${HispError.from(error).code}]\n`,
    );
    return 1;
  }
  const dnsServers = (values.dns ?? systemResolvers()).map((server) =>
    parseDnsServer(command, server),
  );

  const logger = createLogger({
    level: 'error',
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-certs' },
  });
  const result = await discoverCertificates(address, {
    dnsServers,
    anchors,
    revocation,
    logger,
    allowSha1CertificateSignatures: values['allow-sha1-certificates'] === true,
    ...(values.offline
      ? {}
      : {
          fetcher: createHttpFetcher({ logger }),
          crlCache: new CrlCache(),
          ocspCache: new OcspCache(),
        }),
  });

  if (values.report !== undefined) {
    writeOutputFile(command, '--report', values.report, [
      Buffer.from(`${JSON.stringify(reportOf(result), null, 2)}\n`),
    ]);
  }
  for (const problem of result.problems)
    io.stderr(`sealpost ${command}: ${problem.message} [${problem.code}]\n`);
  for (const r of result.rejected) {
    io.stderr(
      `sealpost ${command}: rejected ${r.fingerprintSha256.slice(0, 16)}… from ${r.source}: ${r.reason.message} [${r.reason.code}]\n`,
    );
  }
  for (const s of result.selected) io.stdout(s.cert.x509.toString());
  if (result.selected.length === 0) {
    io.stderr(
      `sealpost ${command}: no usable certificate for ${address}; nothing would be sent to it.\n`,
    );
    return 5;
  }
  return 0;
}

/** The outbound anchors the profile's trust store has for the sending domain. */
async function profileAnchors(
  command: string,
  values: { profile?: string | undefined; pass?: string | undefined; from?: string | undefined },
  io: CliIo,
): Promise<ParsedCertificate[]> {
  const [{ openProfileFromArgs }, { TrustStore }] = await Promise.all([
    import('./profileAccess.js'),
    import('../certs/trust/store.js'),
  ]);
  const profile = await openProfileFromArgs(command, values, io);
  try {
    const anchors = new TrustStore(profile.db).anchorsFor(values.from ?? '', 'outbound');
    if (anchors.length === 0) {
      throw new HispError(
        'ANCHOR_NOT_FOUND',
        `The profile has no outbound trust anchor for ${values.from ?? ''}: add one with 'sealpost anchors import' or 'sealpost bundles add'.`,
      );
    }
    return anchors;
  } finally {
    profile.close();
  }
}

async function zone(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'certs zone';
  const { values } = parseCommandArgs(command, args, {
    cert: { type: 'string', multiple: true },
    mx: { type: 'string', multiple: true },
    ttl: { type: 'string' },
  });
  if (values.cert === undefined || values.cert.length === 0)
    throw new UsageError(command, 'at least one --cert FILE is required');
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0))
    throw new UsageError(command, `--ttl wants seconds, not ${JSON.stringify(values.ttl)}`);
  const certs: ParsedCertificate[] = [];
  for (const path of values.cert) {
    certs.push(
      ...readCertificates(
        await readInputFile(command, '--cert', path, AGENT_LIMITS.fetchedCertificateBytes),
      ),
    );
  }
  const lines = zoneRecords(certs, {
    ...(ttl === undefined ? {} : { ttl }),
    ...(values.mx ? { mx: values.mx } : {}),
  });
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

export function reportOf(result: DiscoveryResult) {
  return {
    address: result.address,
    selected: result.selected.map((s) => ({
      fingerprintSha256: s.cert.fingerprintSha256,
      source: s.source,
      bound: s.bound,
    })),
    rejected: result.rejected.map((r) => ({
      fingerprintSha256: r.fingerprintSha256,
      source: r.source,
      reason: r.reason,
    })),
  };
}

/** The resolvers this computer uses, as HOST:PORT. */
export function systemResolvers(): string[] {
  return getServers().map((server) =>
    server.includes(':') && !server.startsWith('[') && server.split(':').length > 2
      ? `[${server}]:53`
      : server.includes(':')
        ? server
        : `${server}:53`,
  );
}
