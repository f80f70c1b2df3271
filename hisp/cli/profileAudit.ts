/**
 * `sealpost profile audit`: read (and check) the profile's audit log — the accounting of
 * disclosures. An export is itself a disclosure, so it is logged as 'audit-export' (after the
 * entries are read, so it is not part of its own output; before they are written, so a
 * disclosure is never left unlogged).
 */
import {
  AUDIT_ACTIONS,
  AuditLog,
  exportAudit,
  isAuditAction,
  type AuditAction,
  type AuditFilter,
} from '../store/audit.js';
import { HispError } from '../api/errors.js';
import { parseCommandArgs } from './args.js';
import { writeOutputFile } from './files.js';
import { UsageError, type CliIo } from './io.js';
import { openProfileFromArgs, PROFILE_OPTIONS, PROFILE_OPTIONS_HELP } from './profileAccess.js';

const COMMAND = 'profile audit';

export const PROFILE_AUDIT_HELP = `Usage: sealpost profile audit --profile DIR [--pass SPEC] [--verify]
         [--since ISO] [--until ISO] [--action A] [--counterpart ADDR]
         [--format csv|json] [--out FILE]

Lists the profile's audit log (accounting of disclosures): every send, receive, open,
attachment save, export, print, delete, key import or removal, trust change, profile
export or restore, lock, unlock and audit export, with its time, local user, counterpart
and message id. Entries are hash-chained (HMAC-SHA256 under a key only this profile has).

Options:
${PROFILE_OPTIONS_HELP}
  --verify             check the chain first. Alone, only checks: prints "audit chain
                       intact: N entries"; with an export option, exports after a good check
  --since ISO          entries at or after this time (e.g. 2026-01-01 or 2026-01-01T08:00Z)
  --until ISO          entries before this time (a time with no Z or offset is local)
  --action A           only this action: ${AUDIT_ACTIONS.join(', ')}
  --counterpart ADDR   only entries with this counterpart address
  --format csv|json    the export format (default csv; RFC 4180, formula-safe)
  --out FILE           write to FILE (mode 600) instead of standard output

Each export is recorded in the log as 'audit-export'.

Exit codes: 0 done (chain intact, with --verify); 1 usage; 2 failed — with --verify, the
chain is broken (AUDIT_CHAIN_BROKEN names the first bad entry and what is wrong).
`;

const ISO_DATE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function parseTime(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const time = ISO_DATE.test(value) ? new Date(value) : undefined;
  if (time === undefined || Number.isNaN(time.getTime())) {
    throw new UsageError(
      COMMAND,
      `${flag} wants an ISO 8601 date or time (2026-01-31 or 2026-01-31T08:00:00Z), not ${JSON.stringify(value)}`,
    );
  }
  return time;
}

export async function profileAuditCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(COMMAND, args, {
    ...PROFILE_OPTIONS,
    verify: { type: 'boolean' },
    since: { type: 'string' },
    until: { type: 'string' },
    action: { type: 'string' },
    counterpart: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  });
  if (values.help === true) {
    io.stdout(PROFILE_AUDIT_HELP);
    return 0;
  }
  const format = values.format ?? 'csv';
  if (format !== 'csv' && format !== 'json') {
    throw new UsageError(COMMAND, `--format is csv or json, not ${JSON.stringify(format)}`);
  }
  let action: AuditAction | undefined;
  if (values.action !== undefined) {
    if (!isAuditAction(values.action)) {
      throw new UsageError(
        COMMAND,
        `--action ${JSON.stringify(values.action)} is not one of ${AUDIT_ACTIONS.join(', ')}`,
      );
    }
    action = values.action;
  }
  if (values.counterpart === '') throw new UsageError(COMMAND, '--counterpart is empty');
  if (values.out === '') throw new UsageError(COMMAND, '--out is empty');
  const filter: AuditFilter = {
    since: parseTime('--since', values.since),
    until: parseTime('--until', values.until),
    action,
    counterpart: values.counterpart,
  };
  const exporting =
    values.verify !== true ||
    [values.format, values.out, values.since, values.until, values.action, values.counterpart].some(
      (value) => value !== undefined,
    );

  const profile = await openProfileFromArgs(COMMAND, values, io);
  try {
    const log = new AuditLog(profile);
    if (values.verify === true) {
      try {
        const { entries } = log.verify();
        (exporting ? io.stderr : io.stdout)(`audit chain intact: ${entries} entries\n`);
      } catch (error) {
        if (!(error instanceof HispError) || error.code !== 'AUDIT_CHAIN_BROKEN') throw error;
        io.stderr(`sealpost ${COMMAND}: ${error.message} [${error.code}]\n`);
        return 2;
      }
    }
    if (!exporting) return 0;

    const { text, entries } = exportAudit(
      log,
      filter,
      format,
      values.out === undefined ? 'stdout' : 'file',
    );
    if (values.out === undefined) {
      await io.writeStdout(Buffer.from(text, 'utf8'));
    } else {
      writeOutputFile(COMMAND, '--out', values.out, [Buffer.from(text, 'utf8')]);
      io.stderr(`Wrote ${entries} audit entries to ${values.out}.\n`);
    }
    return 0;
  } finally {
    profile.close();
  }
}
