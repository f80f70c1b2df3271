/**
 * The mail window's words and small decisions as pure functions (no DOM, no React), so the
 * unit tests run them in Node: folder names, sizes and dates for the list, the Sent list's
 * delivery column, how typed addresses become recipients, whether a message may be sent
 * with the recipients' certificate checks as they stand, and reply/forward text.
 */
import { LIMITS, missingCaseError } from '../../../hisp/api/index.js';
import type {
  CallResult,
  DeliverySummary,
  Folder,
  OpenedMessage,
  RecipientCheck,
} from '../../../hisp/api/index.js';
import { recipientStateLabel } from './explain.js';

export function folderLabel(folder: Folder): string {
  switch (folder) {
    case 'inbox':
      return 'Inbox';
    case 'sent':
      return 'Sent';
    case 'drafts':
      return 'Drafts';
    case 'outbox':
      return 'Outbox';
    case 'untrusted':
      return 'Untrusted';
    case 'archive':
      return 'Archive';
    case 'trash':
      return 'Trash';
    default:
      throw missingCaseError(folder);
  }
}

/** Bytes for people: "512 B", "14 KB", "3.4 MB" (1 KB = 1024 B, as file managers show). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '0 B';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const kb = bytes / 1024;
  if (kb < 1024) return `${kb < 10 ? kb.toFixed(1) : Math.round(kb)} KB`;
  const mb = kb / 1024;
  return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}

/**
 * Date formatters, made once: an Intl.DateTimeFormat costs far more to make than to use, and
 * the list formats a date for every row it renders while it scrolls (toLocale…String makes a
 * new one on each call). Made lazily, so the user's locale is read when first needed.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(key: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  let made = formatters.get(key);
  if (made === undefined) {
    made = new Intl.DateTimeFormat(undefined, options);
    formatters.set(key, made);
  }
  return made;
}

/**
 * A list date: the time for today, the day and month for this year, else the full date.
 * `now` is passed in so the words do not depend on when the test runs.
 */
export function formatListDate(iso: string, now: Date): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const sameDay =
    date.getFullYear() === now.getFullYear() &&
    date.getMonth() === now.getMonth() &&
    date.getDate() === now.getDate();
  if (sameDay) return formatter('time', { hour: '2-digit', minute: '2-digit' }).format(date);
  if (date.getFullYear() === now.getFullYear()) {
    return formatter('day', { day: 'numeric', month: 'short' }).format(date);
  }
  return formatter('date', { day: 'numeric', month: 'short', year: 'numeric' }).format(date);
}

/** A full date and time for the reading pane and the delivery timeline. */
export function formatFullDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter('full', { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** Characters of text per block of a long plain-text body (see textBlocks). */
export const TEXT_BLOCK_CHARS = 16 * 1024;

/**
 * A plain-text body cut into blocks of about TEXT_BLOCK_CHARS characters, each ending just
 * after a line break (a line longer than that is cut where it is), so that the reading pane
 * can let the browser skip laying out the blocks that are off screen (`content-visibility`):
 * laying out a 1 MB text at once takes hundreds of milliseconds. Joined, the blocks are the
 * text exactly; a short text is one block.
 */
export function textBlocks(text: string): string[] {
  if (text.length <= TEXT_BLOCK_CHARS) return [text];
  const blocks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + TEXT_BLOCK_CHARS);
    if (end < text.length) {
      const lineEnd = text.lastIndexOf('\n', end - 1);
      if (lineEnd >= start) end = lineEnd + 1;
    }
    blocks.push(text.slice(start, end));
    start = end;
  }
  return blocks;
}

/** The Sent/Outbox list's delivery column: the worst news first, then how far it got. */
export interface DeliveryColumn {
  readonly tone: 'ok' | 'pending' | 'bad';
  readonly text: string;
}

export function deliveryColumn(summary: DeliverySummary): DeliveryColumn {
  const { recipients, failed, timedOut, dispatched, processed, relayed } = summary;
  if (recipients === 0) return { tone: 'pending', text: 'Not sent' };
  const of = (n: number): string => (recipients === 1 ? '' : ` ${n}/${recipients}`);
  if (failed > 0) return { tone: 'bad', text: `Failed${of(failed)}` };
  if (timedOut > 0) return { tone: 'bad', text: `Not confirmed${of(timedOut)}` };
  if (dispatched === recipients) return { tone: 'ok', text: 'Delivered' };
  if (dispatched + processed === recipients) {
    return { tone: 'ok', text: dispatched > 0 ? `Delivered${of(dispatched)}` : 'Processed' };
  }
  if (relayed > 0 || processed > 0) return { tone: 'pending', text: 'Sent, awaiting confirmation' };
  return { tone: 'pending', text: 'Queued' };
}

/** Longest address a chip takes (the contract's bound). */
const MAX_ADDRESS = 320;

/**
 * Addresses typed or pasted into a To/Cc field: split on commas, semicolons and line breaks;
 * "Name <addr>" reduced to the address (the name dropped); other parts split on spaces;
 * empty parts dropped, duplicates (ignoring case) kept once.
 */
export function parseAddresses(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (candidate: string): void => {
    const address = candidate.trim();
    if (address === '' || address.length > MAX_ADDRESS) return;
    const key = address.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(address);
  };
  for (const part of text.split(/[,;\r\n]+/)) {
    const angle = /<([^<>]*)>/.exec(part);
    if (angle !== null) add(angle[1] ?? '');
    else for (const word of part.split(/\s+/)) add(word);
  }
  return out;
}

/** What the compose window knows about one recipient right now. */
export type RecipientState =
  | { readonly kind: 'checking' }
  | { readonly kind: 'checked'; readonly check: RecipientCheck }
  /** The check call itself failed (the HISP did not answer): nothing is known. */
  | { readonly kind: 'error'; readonly message: string };

export function recipientChipLabel(state: RecipientState | undefined): string {
  if (state === undefined || state.kind === 'checking') return 'checking…';
  if (state.kind === 'error') return 'check failed';
  return recipientStateLabel(state.check.state);
}

/** Whether the compose window lets Send go ahead, and if not, why. */
export type SendDecision =
  | { readonly ok: true; readonly blocked: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Send is refused in the window when there is no recipient, when a check is still running,
 * or when no recipient at all has a usable certificate; otherwise it goes ahead and
 * `blocked` names the recipients that will not get it (shown before sending).
 */
export function decideSend(
  recipients: readonly string[],
  states: ReadonlyMap<string, RecipientState>,
): SendDecision {
  if (recipients.length === 0) return { ok: false, reason: 'Add at least one recipient.' };
  const blocked: string[] = [];
  for (const address of recipients) {
    const state = states.get(address.toLowerCase());
    if (state === undefined || state.kind === 'checking') {
      return {
        ok: false,
        reason: 'Still checking the recipients’ certificates. Try again in a moment.',
      };
    }
    if (state.kind === 'error' || state.check.state !== 'found') blocked.push(address);
  }
  if (blocked.length === recipients.length) {
    return {
      ok: false,
      reason:
        recipients.length === 1
          ? 'This recipient cannot receive Direct mail from you (see the reason under the address), so nothing was sent.'
          : 'None of the recipients can receive Direct mail from you (see the reasons under each address), so nothing was sent.',
    };
  }
  return { ok: true, blocked };
}

/** Total bytes of the attachments, and whether they fit the limit of one message. */
export function attachmentBudget(sizes: readonly number[]): {
  readonly total: number;
  readonly limit: number;
  readonly fits: boolean;
  readonly text: string;
} {
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const limit = LIMITS.composeAttachmentBytes;
  return {
    total,
    limit,
    fits: total <= limit && sizes.length <= LIMITS.composeAttachments,
    text: `${formatBytes(total)} of ${formatBytes(limit)}`,
  };
}

/** A file that would go with a composed message, as the limits see it. */
export interface SizedFile {
  readonly filename: string;
  readonly size: number;
}

/**
 * Which of `candidates` can be added to a message that already carries attachments of
 * `existing` sizes without passing LIMITS.composeAttachments or
 * LIMITS.composeAttachmentBytes, in order (a file too big is skipped, smaller ones after it
 * may still fit), and for each one left out a sentence saying why.
 */
export function fitAttachments<T extends SizedFile>(
  existing: readonly number[],
  candidates: readonly T[],
): { readonly accepted: readonly T[]; readonly refused: readonly { file: T; reason: string }[] } {
  const accepted: T[] = [];
  const refused: { file: T; reason: string }[] = [];
  let count = existing.length;
  let total = existing.reduce((sum, size) => sum + size, 0);
  for (const file of candidates) {
    if (count >= LIMITS.composeAttachments) {
      refused.push({
        file,
        reason: `${file.filename}: a message can carry at most ${LIMITS.composeAttachments} attachments.`,
      });
    } else if (total + file.size > LIMITS.composeAttachmentBytes) {
      refused.push({
        file,
        reason: `${file.filename} (${formatBytes(file.size)}): the attachments would add up to ${formatBytes(total + file.size)}, more than the ${formatBytes(LIMITS.composeAttachmentBytes)} one message can carry.`,
      });
    } else {
      accepted.push(file);
      count += 1;
      total += file.size;
    }
  }
  return { accepted, refused };
}

/** Bytes that a base64 text stands for (padding discounted), without decoding it. */
export function base64Size(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((base64.length * 3) / 4) - padding);
}

/** Base64 of bytes without Node's Buffer (the window has none); chunked to spare the stack. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The bare address in a header value like `"Dr. Adams" <dr.adams@practice-a.test>`. */
export function addressOf(header: string): string {
  const angle = /<([^<>]+)>/.exec(header);
  return (angle?.[1] ?? header).trim();
}

function prefixed(prefix: string, subject: string): string {
  const re = new RegExp(`^\\s*${prefix}:\\s*`, 'i');
  return re.test(subject) ? subject : `${prefix}: ${subject}`;
}

/** An attachment of an opened message, as `openMessage` lists it. */
export type MessageAttachment = OpenedMessage['attachments'][number];

/** What a reply, reply-all or forward starts with. */
export interface ComposeSeed {
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly inReplyTo?: string;
  /**
   * A forward: the original message and its attachments, which the compose window fetches
   * (`getAttachment`) and attaches like files the user picked.
   */
  readonly forward?: { readonly id: number; readonly attachments: readonly MessageAttachment[] };
}

/** The name a forwarded attachment is sent under: its own, or "attachment-N" when it has none. */
export function forwardedName(attachment: MessageAttachment): string {
  const name = attachment.filename.trim();
  return (name === '' ? `attachment-${attachment.index + 1}` : name).slice(0, 255);
}

export type ReplyKind = 'reply' | 'reply-all' | 'forward';

export function seedFrom(
  message: OpenedMessage,
  kind: ReplyKind,
  self: readonly string[],
): ComposeSeed {
  const mine = new Set(self.map((a) => a.toLowerCase()));
  const quoted = (message.text ?? '')
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  const when = message.date ?? message.summary.receivedAt;
  if (kind === 'forward') {
    return {
      to: [],
      cc: [],
      subject: prefixed('Fwd', message.summary.subject),
      text: `\n\n---------- Forwarded message ----------\nFrom: ${message.from}\nDate: ${formatFullDate(when)}\nSubject: ${message.summary.subject}\nTo: ${message.to.join(', ')}\n\n${message.text ?? ''}`,
      ...(message.attachments.length === 0
        ? {}
        : { forward: { id: message.summary.id, attachments: message.attachments } }),
    };
  }
  const from = addressOf(message.from);
  const to = message.summary.direction === 'out' ? message.to.map(addressOf) : [from];
  const others =
    kind === 'reply-all'
      ? [...message.to, ...message.cc]
          .map(addressOf)
          .filter(
            (a) =>
              !mine.has(a.toLowerCase()) && !to.some((t) => t.toLowerCase() === a.toLowerCase()),
          )
      : [];
  return {
    to,
    cc: others,
    subject: prefixed('Re', message.summary.subject),
    text: `\n\nOn ${formatFullDate(when)}, ${message.from} wrote:\n${quoted}`,
    ...(message.messageId === undefined ? {} : { inReplyTo: message.messageId }),
  };
}

/** One of the profile's identities, as `identities` lists it. */
type Identity = CallResult<'identities'>['identities'][number];

/**
 * One choice of the compose window's From: an address-bound identity's address, or a
 * domain-bound identity (its certificate signs for any address at the domain), for which the
 * user types the part before the @.
 */
export type FromChoice =
  | { readonly kind: 'address'; readonly address: string }
  | { readonly kind: 'domain'; readonly domain: string };

/** The select's value for a choice: the address, or "@domain" (as `identities` has it). */
export function fromChoiceValue(choice: FromChoice): string {
  return choice.kind === 'address' ? choice.address : `@${choice.domain}`;
}

/**
 * The From choices: the addresses the window was given (address-bound identities) first,
 * then each address-bound identity not among them, then each domain-bound one; repeats
 * (ignoring case) kept once. `identities` is undefined while it is being read. A
 * domain-bound identity is taken as "@domain" (the contract's form) or as the bare domain
 * (what the HISP's `identities` answers today), among the given addresses too.
 */
export function fromChoices(
  addresses: readonly string[],
  identities: readonly Pick<Identity, 'address' | 'bound'>[] | undefined,
): FromChoice[] {
  const out: FromChoice[] = [];
  const seen = new Set<string>();
  const add = (choice: FromChoice): void => {
    const value = fromChoiceValue(choice).toLowerCase();
    if (seen.has(value)) return;
    seen.add(value);
    out.push(choice);
  };
  const domainOnly = (value: string): string | undefined => {
    const at = value.lastIndexOf('@');
    return at <= 0 ? value.slice(at + 1) : undefined;
  };
  for (const address of addresses) {
    const domain = domainOnly(address);
    if (domain === undefined) add({ kind: 'address', address });
    else if (domain !== '') add({ kind: 'domain', domain });
  }
  for (const identity of identities ?? []) {
    if (identity.bound === 'address') add({ kind: 'address', address: identity.address });
  }
  for (const identity of identities ?? []) {
    if (identity.bound !== 'domain') continue;
    const domain = identity.address.slice(identity.address.lastIndexOf('@') + 1);
    if (domain !== '') add({ kind: 'domain', domain });
  }
  return out;
}

/** RFC 5322 dot-atom: what a Direct address's local part may be without quoting. */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * The address a domain-bound From makes of the part the user typed: "frontdesk" at
 * "clinic.example" is frontdesk@clinic.example. The whole address pasted is taken too, when
 * its domain is this one. Otherwise a sentence saying what is wrong.
 */
export function domainFromAddress(
  typed: string,
  domain: string,
):
  | { readonly ok: true; readonly address: string }
  | { readonly ok: false; readonly reason: string } {
  let local = typed.trim();
  const at = local.lastIndexOf('@');
  if (at >= 0) {
    if (local.slice(at + 1).toLowerCase() !== domain.toLowerCase()) {
      return {
        ok: false,
        reason: `Type only the part before @${domain}: this identity signs for addresses at ${domain} only.`,
      };
    }
    local = local.slice(0, at);
  }
  if (local === '') return { ok: false, reason: `Type the part of the address before @${domain}.` };
  if (local.length > 64) {
    return { ok: false, reason: 'The part before the @ can be at most 64 characters long.' };
  }
  if (!DOT_ATOM.test(local)) {
    return {
      ok: false,
      reason:
        'The part before the @ can hold letters, digits and . _ - + (no spaces, no dot at either end or two in a row).',
    };
  }
  const address = `${local}@${domain}`;
  if (address.length > 320) return { ok: false, reason: 'The address is too long.' };
  return { ok: true, address };
}
