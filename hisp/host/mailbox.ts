/**
 * The mailbox calls of the contract (folders, lists, search, reading, flags and moves,
 * attachments, drafts, identities): what the three-pane mail window runs on.
 *
 * Everything reads the encrypted mailbox (hisp/store/mail.ts) of the running mail service:
 * lists and search come from the index inside the encrypted database and decrypt nothing;
 * only `openMessage` and `getAttachment` decrypt, in memory, and the store writes each of
 * them to the audit log. Text that came from outside (subjects, names, snippets) is clamped
 * to the contract's bounds here, so one hostile message cannot make a whole list fail the
 * contract check.
 */
import type { Readable } from 'node:stream';
import {
  HispError,
  LIMITS,
  type DeliveryRecipient,
  type DeliverySummary,
  type FolderCount,
  type Handlers,
  type MessageSummary,
} from '../api/index.js';
import { FOLDER_LIST } from '../api/contract.js';
import type { MailAgent } from '../relay/mailAgent.js';
import type { IdentityStore } from '../keys/identities.js';
import type { ComposeAttachment as AgentAttachment } from '../relay/mailAgent.js';
import type { IndexRow, MailStore, OpenFn } from '../store/mail.js';
import type { Fetcher } from '../certs/fetch.js';
import { fetchableUrl, loadRemoteImages, remoteImageSources } from './remoteContent.js';

/** What the mailbox calls work on: hisp/host/mailService.ts MailService.parts(). */
export interface MailboxParts {
  readonly store: MailStore;
  /** What remote images are fetched with (public addresses only on a server); absent: none. */
  readonly fetcher?: Fetcher | undefined;
  readonly identities: IdentityStore;
  readonly agent: MailAgent;
  readonly localDomains: readonly string[];
}

export type MailboxMethod =
  | 'identities'
  | 'folders'
  | 'listMessages'
  | 'searchMessages'
  | 'openMessage'
  | 'messageDelivery'
  | 'updateMessages'
  | 'deleteMessages'
  | 'getAttachment'
  | 'loadRemoteImages'
  | 'listDrafts'
  | 'getDraft'
  | 'saveDraft'
  | 'deleteDraft';

/** Largest attachment handed over in one call (the wire limit, less base64 growth). */
const ATTACHMENT_CALL_MAX_BYTES = Math.floor((LIMITS.wireMessageChars * 3) / 4) - 64 * 1024;

/** `value` cut to the contract's bound `max`. */
export const clamp = (value: string, max: number): string =>
  value.length <= max ? value : value.slice(0, max);

function isoOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** The opener for stored messages: the profile's keys and its first local domain's anchors. */
function openerOf(parts: MailboxParts): OpenFn {
  return parts.agent.opener(parts.localDomains[0] ?? '');
}

/** Per-recipient delivery of sent messages, from the queue and the notification tracking. */
export function deliveryOf(store: MailStore, id: number): DeliveryRecipient[] {
  return store.deliveryTimeline(id).map((entry) => ({
    recipient: entry.recipient,
    ...(entry.queue === undefined ? {} : { queue: entry.queue }),
    ...(entry.mdn === undefined ? {} : { notification: entry.mdn }),
    steps: entry.events.slice(-200).map((event) => ({
      state: event.late === true ? 'late' : event.state,
      at: new Date(event.at).toISOString(),
      ...(event.code === undefined
        ? {}
        : {
            reason: {
              code: clamp(event.code, 64),
              message: clamp(event.message ?? '', 2000),
            },
          }),
    })),
  }));
}

export function summaryOf(row: IndexRow, delivery?: DeliverySummary): MessageSummary {
  const sentAt = isoOrUndefined(row.sentAt);
  return {
    id: row.id,
    folder: row.folder,
    direction: row.direction,
    seen: row.flags.seen,
    flagged: row.flags.flagged,
    answered: row.flags.answered,
    receivedAt: new Date(row.receivedAt).toISOString(),
    ...(sentAt === undefined ? {} : { sentAt }),
    subject: clamp(row.subject, 4000),
    sender: clamp(row.sender, 4000),
    recipients: row.recipients.slice(0, 1000).map((r) => clamp(r, 4000)),
    snippet: clamp(row.snippet, 1000),
    hasAttachments: row.hasAttachments,
    size: row.size,
    trusted: row.trusted,
    ...(delivery === undefined ? {} : { delivery }),
  };
}

function summaries(store: MailStore, rows: readonly IndexRow[]): MessageSummary[] {
  const outbound = rows.filter((row) => row.direction === 'out').map((row) => row.id);
  const delivery =
    outbound.length === 0 ? new Map<number, DeliverySummary>() : store.deliverySummary(outbound);
  return rows.map((row) => summaryOf(row, delivery.get(row.id)));
}

export function folderCounts(store: MailStore): FolderCount[] {
  const counts = store.counts();
  const drafts = store.listDrafts().length;
  return FOLDER_LIST.map((folder) =>
    folder === 'drafts'
      ? { folder, total: drafts, unseen: 0 }
      : { folder, total: counts[folder].total, unseen: counts[folder].unseen },
  );
}

async function collect(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      throw new HispError(
        'LIMIT_EXCEEDED',
        `The attachment is larger than ${Math.floor(max / (1024 * 1024))} MiB, too large to open here.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Attachments from the contract (base64) as the mail agent and the drafts take them. */
export function decodeAttachments(
  list: readonly { filename: string; contentType: string; dataBase64: string }[] | undefined,
): AgentAttachment[] {
  const out: AgentAttachment[] = [];
  let total = 0;
  for (const item of list ?? []) {
    const content = Buffer.from(item.dataBase64, 'base64');
    total += content.length;
    if (total > LIMITS.composeAttachmentBytes) {
      throw new HispError(
        'LIMIT_EXCEEDED',
        `The attachments add up to more than ${LIMITS.composeAttachmentBytes / (1024 * 1024)} MiB, the most one message can carry.`,
      );
    }
    out.push({ filename: item.filename, contentType: item.contentType, content });
  }
  return out;
}

/**
 * The handlers, over whatever mail service is running now (`parts` throws when locked).
 * `changed` is told after a call changed folder counts (read state, moves, deletes, drafts).
 */
export function mailboxHandlers(
  parts: () => MailboxParts,
  changed: () => void = () => undefined,
): Pick<Handlers, MailboxMethod> {
  return {
    identities: () => {
      const { identities } = parts();
      return Promise.resolve({
        identities: identities.list().flatMap((identity) =>
          identity.addresses.map((entry) => ({
            // A domain-bound certificate signs for anyone at the domain: '@domain' (the contract).
            address: clamp(entry.bound === 'domain' ? `@${entry.address}` : entry.address, 320),
            bound: entry.bound,
            fingerprintSha256: identity.fingerprintSha256,
            subject: clamp(identity.subject, 2000),
            notAfter: identity.notAfter.toISOString(),
          })),
        ),
      });
    },
    folders: () => Promise.resolve({ folders: folderCounts(parts().store) }),
    listMessages: (params) => {
      const { store } = parts();
      const rows = store.list(params.folder, {
        limit: params.limit ?? 200,
        offset: params.offset ?? 0,
      });
      return Promise.resolve({
        messages: summaries(store, rows),
        total: params.folder === 'drafts' ? 0 : store.count(params.folder).total,
      });
    },
    searchMessages: (params) => {
      const { store } = parts();
      const rows = store.search(params.text, {
        ...(params.folder === undefined ? {} : { folder: params.folder }),
        limit: params.limit ?? 200,
      });
      return Promise.resolve({ messages: summaries(store, rows) });
    },
    openMessage: async (params) => {
      const current = parts();
      const { store } = current;
      const opened = await store.open(params.id, openerOf(current));
      if (!opened.flags.seen) {
        store.setFlags(params.id, { seen: true });
        changed();
      }
      const [summary] = summaries(store, [store.get(params.id)]);
      if (summary === undefined) throw new HispError('MESSAGE_NOT_FOUND');
      const date = isoOrUndefined(opened.date);
      const v = opened.verification;
      return {
        summary,
        from: clamp(opened.from, 4000),
        to: opened.to.slice(0, 1000).map((a) => clamp(a, 4000)),
        cc: opened.cc.slice(0, 1000).map((a) => clamp(a, 4000)),
        ...(date === undefined ? {} : { date }),
        ...(opened.messageId === undefined ? {} : { messageId: clamp(opened.messageId, 998) }),
        decrypted: opened.decrypted,
        ...(opened.text === undefined ? {} : { text: opened.text }),
        ...(opened.html === undefined ? {} : { html: opened.html }),
        attachments: opened.attachments.slice(0, 1000).map((a) => ({
          index: a.index,
          filename: clamp(a.filename, 1000),
          contentType: clamp(a.contentType, 255),
          size: a.size,
        })),
        verification: {
          trusted: v.trusted,
          ...(v.signer === undefined ? {} : { signer: clamp(v.signer, 320) }),
          ...(v.signerSubject === undefined ? {} : { signerSubject: clamp(v.signerSubject, 2000) }),
          ...(v.anchor === undefined ? {} : { anchor: clamp(v.anchor, 2000) }),
          reasons: v.reasons.slice(0, 64).map((r) => ({
            code: clamp(r.code, 64),
            message: clamp(r.message, 2000),
          })),
        },
        ...(opened.direction === 'out' ? { delivery: deliveryOf(store, params.id) } : {}),
      };
    },
    messageDelivery: (params) => {
      const { store } = parts();
      store.get(params.id); // MESSAGE_NOT_FOUND for an unknown id
      return Promise.resolve({ recipients: deliveryOf(store, params.id) });
    },
    updateMessages: (params) => {
      const { store } = parts();
      const rows = params.ids.map((id) => store.get(id));
      if (params.folder !== undefined) {
        const target = params.folder;
        for (const row of rows) {
          if (row.folder === 'outbox') {
            throw new HispError(
              'BAD_REQUEST',
              'A message that is still being sent stays in the Outbox until it has been relayed.',
            );
          }
          if (
            (row.direction === 'in' && target === 'sent') ||
            (row.direction === 'out' && (target === 'inbox' || target === 'untrusted'))
          ) {
            throw new HispError(
              'BAD_REQUEST',
              `A ${row.direction === 'in' ? 'received' : 'sent'} message cannot be moved to ${target}.`,
            );
          }
        }
      }
      for (const row of rows) {
        const flags = {
          ...(params.seen === undefined ? {} : { seen: params.seen }),
          ...(params.flagged === undefined ? {} : { flagged: params.flagged }),
        };
        if (Object.keys(flags).length > 0) store.setFlags(row.id, flags);
        if (params.folder !== undefined && row.folder !== params.folder) {
          store.move(row.id, params.folder);
        }
      }
      changed();
      return Promise.resolve({ updated: rows.length });
    },
    deleteMessages: (params) => {
      const { store } = parts();
      const rows = params.ids.map((id) => store.get(id));
      const sending = (id: number): boolean =>
        store.queueFor(id).some((q) => q.state === 'queued' || q.state === 'sending');
      if (rows.some((row) => row.folder === 'outbox' || sending(row.id))) {
        throw new HispError(
          'BAD_REQUEST',
          'A message that is still being sent cannot be deleted until it has been relayed.',
        );
      }
      let trashed = 0;
      let deleted = 0;
      for (const row of rows) {
        if (row.folder === 'trash') {
          store.delete(row.id);
          deleted += 1;
        } else {
          store.move(row.id, 'trash');
          trashed += 1;
        }
      }
      changed();
      return Promise.resolve({ trashed, deleted });
    },
    getAttachment: async (params) => {
      const current = parts();
      const bytes = await collect(
        current.store.attachment(params.id, params.index, openerOf(current), params.purpose),
        ATTACHMENT_CALL_MAX_BYTES,
      );
      try {
        return { dataBase64: bytes.toString('base64') };
      } finally {
        bytes.fill(0);
      }
    },
    loadRemoteImages: async (params) => {
      const current = parts();
      const { fetcher } = current;
      if (fetcher === undefined) {
        throw new HispError(
          'FETCH_FAILED',
          'This HISP fetches nothing from the internet, so remote images cannot be loaded.',
        );
      }
      const opened = await current.store.open(params.id, openerOf(current));
      if (opened.html === undefined) return { images: [], failed: [] };
      const sources = remoteImageSources(opened.html);
      const hosts = [
        ...new Set(
          sources
            .map((source) => fetchableUrl(source))
            .filter((url) => url !== undefined)
            .map((url) => new URL(url).host),
        ),
      ];
      if (hosts.length === 0) return { images: [], failed: [] };
      current.store.recordRemoteContent(params.id, hosts);
      const loaded = await loadRemoteImages(sources, fetcher);
      return {
        images: loaded.images,
        failed: loaded.failed.map((f) => ({ source: f.source, reason: clamp(f.reason, 2000) })),
      };
    },
    listDrafts: () => {
      const { store } = parts();
      return Promise.resolve({
        drafts: store
          .listDrafts()
          .slice(0, 10_000)
          .map((d) => ({
            id: d.id,
            updatedAt: new Date(d.updatedAt).toISOString(),
            to: [...d.to],
            cc: [...d.cc],
            subject: d.subject,
          })),
      });
    },
    getDraft: (params) => {
      const draft = parts().store.getDraft(params.id);
      return Promise.resolve({
        id: draft.id,
        updatedAt: new Date(draft.updatedAt).toISOString(),
        to: [...draft.to],
        cc: [...draft.cc],
        subject: draft.subject,
        text: draft.body,
        ...(draft.inReplyTo === undefined ? {} : { inReplyTo: draft.inReplyTo }),
        attachments: draft.attachments.map((a) => ({
          filename: a.filename,
          contentType: a.contentType,
          dataBase64: a.content.toString('base64'),
        })),
      });
    },
    saveDraft: (params) => {
      const { store } = parts();
      const id = store.saveDraft(
        {
          to: params.to,
          cc: params.cc,
          subject: params.subject,
          body: params.text,
          ...(params.inReplyTo === undefined ? {} : { inReplyTo: params.inReplyTo }),
          attachments: decodeAttachments(params.attachments),
        },
        params.id,
      );
      const saved = store.getDraft(id);
      if (params.id === undefined) changed();
      return Promise.resolve({ id, updatedAt: new Date(saved.updatedAt).toISOString() });
    },
    deleteDraft: (params) => {
      parts().store.deleteDraft(params.id);
      changed();
      return Promise.resolve({});
    },
  };
}
