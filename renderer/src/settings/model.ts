/**
 * The settings screens' words and conversions, as pure functions (no DOM; unit-tested in
 * Node: test/unit/renderer-settings.test.ts): short fingerprints, where an anchor comes from,
 * a certificate file as the text `importAnchors` takes, the audit filter form as contract
 * parameters, and the audit chain's state in words.
 */
import { AUDIT_ACTION_LIST } from '../../../hisp/api/index.js';
import type { Anchor, AuditChain, CallParams } from '../../../hisp/api/index.js';
import { bytesToBase64 } from '../mail/model.js';

/** The first 16 hex digits of a SHA-256 fingerprint, in groups of four: "ab12 cd34 ef56 7890…". */
export function shortFingerprint(fingerprint: string): string {
  const head = fingerprint.slice(0, 16).toLowerCase();
  const groups = head.match(/.{1,4}/g) ?? [];
  return `${groups.join(' ')}${fingerprint.length > 16 ? '…' : ''}`;
}

/** Where an anchor comes from, for people. */
export function anchorOrigin(anchor: Pick<Anchor, 'origin' | 'bundle'>): string {
  if (anchor.origin === 'manual') return 'Added by hand';
  return anchor.bundle === undefined
    ? 'Comes from a trust bundle'
    : `Comes from bundle ${anchor.bundle}`;
}

/** A local domain for people ('*' is every one). */
export function domainLabel(domain: string): string {
  return domain === '*' ? 'All local domains' : domain;
}

/** Which mail an anchor or bundle is trusted for. */
export type TrustDirection = 'inbound' | 'outbound' | 'both';

/** The trust directions, in the order the forms offer them. */
export const TRUST_DIRECTIONS: readonly TrustDirection[] = ['both', 'inbound', 'outbound'];

/** A form value as a trust direction (undefined: not one). */
export function trustDirection(value: string): TrustDirection | undefined {
  return TRUST_DIRECTIONS.find((direction) => direction === value);
}

/** A trust direction for people. */
export function directionLabel(direction: TrustDirection): string {
  switch (direction) {
    case 'inbound':
      return 'Receiving';
    case 'outbound':
      return 'Sending';
    case 'both':
      return 'Sending and receiving';
  }
}

const PEM_BEGIN = /^\s*-----BEGIN [A-Z0-9 ]+-----/;

/**
 * A certificate file as `importAnchors` takes it: PEM text as it is; anything else (DER
 * certificate, .p7b bundle) as base64 of its bytes.
 */
export function certificatesText(bytes: Uint8Array): string {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 64));
  if (PEM_BEGIN.test(head)) return new TextDecoder('utf-8').decode(bytes);
  return bytesToBase64(bytes);
}

/** The audit filter as typed in the form (empty strings: no filter). */
export interface AuditFilterForm {
  readonly action: string;
  readonly counterpart: string;
  /** `<input type="datetime-local">` values, local time: "2026-03-01T09:30". */
  readonly since: string;
  readonly until: string;
}

export const EMPTY_AUDIT_FILTER: AuditFilterForm = {
  action: '',
  counterpart: '',
  since: '',
  until: '',
};

type AuditFilter = Omit<CallParams<'auditLog'>, 'limit'>;

/** The audit filter form as contract parameters, or what is wrong with it. */
export function auditFilterParams(
  form: AuditFilterForm,
): { ok: true; filter: AuditFilter } | { ok: false; problem: string } {
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  if (form.action !== '') {
    const action = AUDIT_ACTION_LIST.find((candidate) => candidate === form.action);
    if (action === undefined) return { ok: false, problem: `Unknown action "${form.action}".` };
    filter.action = action;
  }
  const counterpart = form.counterpart.trim();
  if (counterpart !== '') {
    if (counterpart.length > 320) {
      return { ok: false, problem: 'The address is longer than 320 characters.' };
    }
    filter.counterpart = counterpart;
  }
  for (const key of ['since', 'until'] as const) {
    const value = form[key].trim();
    if (value === '') continue;
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) {
      return { ok: false, problem: `"${value}" is not a date and time.` };
    }
    filter[key] = time.toISOString();
  }
  if (
    filter.since !== undefined &&
    filter.until !== undefined &&
    Date.parse(filter.since) >= Date.parse(filter.until)
  ) {
    return { ok: false, problem: '"From" must be before "until".' };
  }
  return { ok: true, filter };
}

/** The audit log's MAC chain in words: "intact" or "tampered at entry N". */
export function chainState(chain: AuditChain): { intact: boolean; text: string } {
  if (chain.intact) {
    return {
      intact: true,
      text: `Intact: all ${chain.entries} ${chain.entries === 1 ? 'entry checks' : 'entries check'} out.`,
    };
  }
  const where = chain.seq === undefined ? '' : ` at entry ${chain.seq}`;
  const what = chain.problem === undefined ? '' : ` (${chain.problem})`;
  return {
    intact: false,
    text: `Tampered${where}${what}: the log was changed outside Sealpost.${
      chain.message === undefined ? '' : ` ${chain.message}`
    }`,
  };
}

/** A file name safe to offer to the browser's download (no path, no control characters). */
export function safeDownloadName(filename: string, fallback: string): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const cleaned = filename.replace(/[\u0000-\u001f\u007f/\\]/g, '_').trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? fallback : cleaned;
}
