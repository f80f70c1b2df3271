/**
 * `sealpost bundles add|refresh|list|remove`: trust bundles (PKCS#7 .p7b, signed or
 * unsigned) from an HTTPS URL or a file, checked against their configured signer, refreshed
 * on an interval by `sealpost serve` or by hand here. Every anchor records its bundle.
 */
import { resolve } from 'node:path';
import { AGENT_LIMITS } from '../agent/limits.js';
import { readCertificates, type ParsedCertificate } from '../certs/certificate.js';
import { createHttpFetcher, type Fetcher } from '../certs/fetch.js';
import { TRUST_BUNDLE_LIMITS } from '../certs/trust/bundle.js';
import {
  addBundleNow,
  isUrlSource,
  refreshBundle,
  type RefreshOutcome,
} from '../certs/trust/refresh.js';
import { ALL_DOMAINS, TrustStore, type BundleRecord } from '../certs/trust/store.js';
import { createLogger, type Logger } from '../log/logger.js';
import { parseDirection } from './anchors.js';
import { parseCommandArgs } from './args.js';
import { readInputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { openProfileFromArgs, PROFILE_OPTIONS, PROFILE_OPTIONS_HELP } from './profileAccess.js';

export const BUNDLES_HELP = `Usage: sealpost bundles add --profile DIR --name NAME (--url URL | --file PATH)
                            [--signer CERT ...] [--require-signed] [--domain DOMAIN]
                            [--direction DIR] [--refresh-hours N] [--tls-ca FILE]
       sealpost bundles refresh --profile DIR [--tls-ca FILE] [NAME ...]
       sealpost bundles list    --profile DIR [--json]
       sealpost bundles remove  --profile DIR NAME

A trust bundle is a PKCS#7 (.p7b) set of trust anchors published by a trust community
(for example DirectTrust). A signed bundle is used only when its signer is one of the
--signer certificates (the signing certificate itself or the CA that issued it).

add      registers the bundle and imports it at once (nothing is registered if that fails).
refresh  reads the named bundles (default: all) again; unchanged bytes are not re-imported;
         anchors no longer in a bundle are removed, new ones added. A failed refresh keeps
         the anchors the bundle had and is shown by list.
list     shows each bundle: source, signer, anchors, last check, last change, last error.
remove   removes the bundle and every anchor that came from it.

Options:
${PROFILE_OPTIONS_HELP}
  --name NAME          a short name (letters, digits, . _ -)
  --url URL            an https:// URL (plain http is refused)
  --file PATH          a local file, re-read on every refresh
  --signer CERT        trusted signer, PEM or DER (repeatable)
  --require-signed     refuse the bundle if it is not signed
  --domain DOMAIN      the local domain its anchors serve (default: every local domain)
  --direction DIR      inbound, outbound or both (default both)
  --refresh-hours N    how often 'sealpost serve' refreshes it (default 24; 0 = by hand)
  --tls-ca FILE        extra CA certificates (PEM) to trust for the HTTPS URL
  --json               list as JSON

Exit codes: 0 done; 1 usage or unreadable input; 2 not done or a refresh failed.
`;

function describeBundle(bundle: BundleRecord): string {
  return [
    `${bundle.name}: ${bundle.source}`,
    `  serves ${bundle.domain === ALL_DOMAINS ? 'every local domain' : bundle.domain}, ${bundle.direction}; ${bundle.anchorCount} anchor(s)`,
    `  ${bundle.signed === undefined ? 'not read yet' : bundle.signed ? `signed by ${bundle.signer ?? '?'}` : 'unsigned'}${bundle.requireSigned ? ' (signature required)' : ''}; ${bundle.signers.length} configured signer(s)`,
    `  refresh ${bundle.refreshSeconds === 0 ? 'by hand only' : `every ${bundle.refreshSeconds / 3600} h`}; last checked ${bundle.checkedAt ?? 'never'}; last changed ${bundle.changedAt ?? 'never'}`,
    ...(bundle.lastError === undefined ? [] : [`  LAST REFRESH FAILED: ${bundle.lastError}`]),
  ]
    .map((line) => `${line}\n`)
    .join('');
}

function describeOutcome(outcome: RefreshOutcome): string {
  if (!outcome.ok) {
    return `${outcome.name}: refresh failed, anchors kept: ${outcome.reason.message} [${outcome.reason.code}]\n`;
  }
  const { change } = outcome;
  const lines = [
    change.unchanged
      ? `${outcome.name}: unchanged`
      : `${outcome.name}: ${change.added.length} anchor(s) added, ${change.removed.length} removed`,
    ...change.added.map((fingerprint) => `  + ${fingerprint}`),
    ...change.removed.map((fingerprint) => `  - ${fingerprint}`),
    ...outcome.skipped.map(
      (skipped) =>
        `  skipped ${skipped.fingerprintSha256 ?? ''} ${skipped.subject ?? ''}: ${skipped.reason.message}`,
    ),
  ];
  return lines.map((line) => `${line}\n`).join('');
}

async function fetcherFor(
  command: string,
  caPath: string | undefined,
  logger: Logger,
): Promise<Fetcher> {
  if (caPath === undefined) return createHttpFetcher({ logger });
  const ca = await readInputFile(command, '--tls-ca', caPath, AGENT_LIMITS.fetchedCertificateBytes);
  return createHttpFetcher({ logger, ca: [ca] });
}

export async function bundlesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'add' && sub !== 'refresh' && sub !== 'list' && sub !== 'remove') {
    throw new UsageError(
      'bundles',
      sub === undefined
        ? 'say add, refresh, list or remove'
        : `unknown subcommand ${JSON.stringify(sub)}: say add, refresh, list or remove`,
    );
  }
  const command = `bundles ${sub}`;
  const { values, positionals } = parseCommandArgs(
    command,
    rest,
    {
      ...PROFILE_OPTIONS,
      name: { type: 'string' },
      url: { type: 'string' },
      file: { type: 'string' },
      signer: { type: 'string', multiple: true },
      'require-signed': { type: 'boolean' },
      domain: { type: 'string' },
      direction: { type: 'string' },
      'refresh-hours': { type: 'string' },
      'tls-ca': { type: 'string' },
      json: { type: 'boolean' },
    },
    sub !== 'add',
  );
  const only = (flags: string[], allowed: string[]) => {
    for (const flag of flags) {
      if ((values as Record<string, unknown>)[flag] !== undefined && !allowed.includes(flag)) {
        throw new UsageError(command, `--${flag} is not an option of ${command}`);
      }
    }
  };
  const addFlags = [
    'name',
    'url',
    'file',
    'signer',
    'require-signed',
    'domain',
    'direction',
    'refresh-hours',
  ];
  const logger = createLogger({
    level: 'error',
    sink: (line) => io.stderr(`${line}\n`),
    bindings: { process: 'sealpost-bundles' },
  });

  if (sub === 'add') {
    only([...addFlags, 'tls-ca', 'json'], [...addFlags, 'tls-ca']);
    const name = values.name;
    if (name === undefined) throw new UsageError(command, '--name NAME is required');
    if ((values.url === undefined) === (values.file === undefined)) {
      throw new UsageError(command, 'give exactly one of --url URL and --file PATH');
    }
    if (values.url !== undefined && !values.url.startsWith('https://')) {
      throw new UsageError(
        command,
        '--url must be an https:// URL: bundles are not fetched over plain http',
      );
    }
    const direction = parseDirection(command, values.direction);
    const hours = Number(values['refresh-hours'] ?? '24');
    if (!Number.isFinite(hours) || hours < 0 || hours > 24 * 365) {
      throw new UsageError(command, '--refresh-hours must be a number of hours from 0 to 8760');
    }
    const signers: ParsedCertificate[] = [];
    for (const path of values.signer ?? []) {
      signers.push(
        ...readCertificates(
          await readInputFile(command, '--signer', path, AGENT_LIMITS.fetchedCertificateBytes),
        ),
      );
    }
    const source = values.url ?? resolve(values.file ?? '');
    if (values.file !== undefined) {
      // A usage-level check up front: a file that is not there is not a bundle to register.
      await readInputFile(command, '--file', source, TRUST_BUNDLE_LIMITS.bytes);
    }
    const fetcher = isUrlSource(source)
      ? await fetcherFor(command, values['tls-ca'], logger)
      : undefined;
    const profile = await openProfileFromArgs(command, values, io);
    try {
      const outcome = await addBundleNow(
        TrustStore.forProfile(profile),
        {
          name,
          source,
          domain: values.domain ?? ALL_DOMAINS,
          direction,
          refreshSeconds: Math.round(hours * 3600),
          requireSigned: values['require-signed'] === true,
          signers,
        },
        { logger, ...(fetcher === undefined ? {} : { fetcher }) },
      );
      io.stdout(describeOutcome(outcome));
      return 0;
    } finally {
      profile.close();
    }
  }

  if (sub === 'refresh') {
    only([...addFlags, 'json'], []);
    const profile = await openProfileFromArgs(command, values, io);
    try {
      const store = TrustStore.forProfile(profile);
      const names =
        positionals.length > 0 ? positionals : store.listBundles().map((bundle) => bundle.name);
      for (const name of names) store.getBundle(name); // unknown names fail before any fetch
      const needsFetcher = names.some((name) => isUrlSource(store.getBundle(name).source));
      const fetcher = needsFetcher
        ? await fetcherFor(command, values['tls-ca'], logger)
        : undefined;
      let failed = 0;
      for (const name of names) {
        const outcome = await refreshBundle(store, name, {
          logger,
          ...(fetcher === undefined ? {} : { fetcher }),
        });
        if (!outcome.ok) failed++;
        io.stdout(describeOutcome(outcome));
      }
      if (names.length === 0) io.stdout('No trust bundles.\n');
      return failed === 0 ? 0 : 2;
    } finally {
      profile.close();
    }
  }

  only([...addFlags, 'tls-ca', 'json'], sub === 'list' ? ['json'] : []);
  const profile = await openProfileFromArgs(command, values, io);
  try {
    const store = TrustStore.forProfile(profile);
    if (sub === 'list') {
      if (positionals.length > 0) throw new UsageError(command, 'list takes no NAME');
      const bundles = store.listBundles();
      if (values.json === true) {
        io.stdout(
          `${JSON.stringify(
            bundles.map(({ signers, id: _id, ...rest }) => ({
              ...rest,
              signers: signers.map((signer) => ({
                subject: signer.subject,
                fingerprintSha256: signer.fingerprintSha256,
              })),
            })),
            null,
            2,
          )}\n`,
        );
      } else {
        io.stdout(
          bundles.length === 0 ? 'No trust bundles.\n' : bundles.map(describeBundle).join(''),
        );
      }
      return 0;
    }
    const [name, ...extra] = positionals;
    if (name === undefined || extra.length > 0)
      throw new UsageError(command, 'name exactly one bundle');
    const removed = store.removeBundle(name);
    io.stdout(`removed bundle ${removed.name} and its ${removed.anchorCount} anchor(s)\n`);
    return 0;
  } finally {
    profile.close();
  }
}
