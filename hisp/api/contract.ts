/**
 * The API contract between the mail UI and the HISP: every call the UI can make and every
 * event the HISP emits, with runtime schemas checked on both sides of the channel. The same
 * contract runs over a MessagePort (desktop) and the loopback WebSocket/HTTP bridge
 * (browser mode, headless server).
 *
 * Rules for schemas: objects are `strict` (unknown keys are a contract violation, not
 * silently dropped); every string that can come from outside has a bound.
 */
import { z } from 'zod';
import { ERROR_CODE_LIST } from './errors.js';
import { LIMITS } from './limits.js';
import { AUDIT_ACTION_LIST, FOLDER_LIST, LOCKABLE_SETTING_LIST } from './lists.js';

export { AUDIT_ACTION_LIST, FOLDER_LIST, LOCKABLE_SETTING_LIST };

export const PRODUCT = 'sealpost';

export const ComponentStatusSchema = z.strictObject({
  name: z.string().max(64),
  state: z.enum(['ok', 'degraded', 'down', 'off']),
  detail: z.string().max(500).optional(),
});
export type ComponentStatus = z.infer<typeof ComponentStatusSchema>;

export const StatusSchema = z.strictObject({
  product: z.literal(PRODUCT),
  version: z.string().max(64),
  /** `locked` and `stopping` are reached once profiles and locking exist. */
  state: z.enum(['starting', 'ready', 'locked', 'stopping']),
  mode: z.enum(['desktop', 'server', 'demo']),
  profile: z.strictObject({
    name: z.string().max(200),
    throwaway: z.boolean(),
  }),
  startedAt: z.iso.datetime(),
  uptimeMs: z.number().int().nonnegative(),
  components: z.array(ComponentStatusSchema).max(64),
});
export type Status = z.infer<typeof StatusSchema>;

const NoParams = z.strictObject({});

/** One reason in a decision: a registry code and a sentence for people. */
export const ReasonSchema = z.strictObject({
  code: z.enum(ERROR_CODE_LIST),
  message: z.string().max(2000),
});

/** A Direct address as typed by a person (checked properly by the HISP). */
const AddressSchema = z.string().min(3).max(320);
const FingerprintSchema = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * What the HISP found for one recipient before sending (DESIGN.md §4): `found` = at least one
 * usable certificate; `untrusted` = certificates were published but none passed (see
 * `rejected`); `not-found` = nothing is published; `failed` = the lookup itself failed (see
 * `problems`), so nothing is known; `invalid` = not a Direct address.
 */
export const RecipientCheckSchema = z.strictObject({
  address: AddressSchema,
  state: z.enum(['found', 'untrusted', 'not-found', 'failed', 'invalid']),
  certificates: z
    .array(
      z.strictObject({
        fingerprintSha256: FingerprintSchema,
        subject: z.string().max(2000),
        notAfter: z.iso.datetime(),
        source: z.enum(['dns', 'ldap']),
        bound: z.enum(['address', 'domain']),
        /** Subject of the trust anchor the certificate chains to. */
        anchor: z.string().max(2000).optional(),
      }),
    )
    .max(32),
  rejected: z
    .array(
      z.strictObject({
        fingerprintSha256: FingerprintSchema,
        source: z.enum(['dns', 'ldap']),
        reason: ReasonSchema,
      }),
    )
    .max(64),
  problems: z.array(ReasonSchema).max(32),
  checkedAt: z.iso.datetime(),
});
export type RecipientCheck = z.infer<typeof RecipientCheckSchema>;

export const CertificateAlertSchema = z.strictObject({
  /** The recipient domain whose certificates keep failing. */
  domain: z.string().max(253),
  /** Rejected certificates within the window. */
  count: z.number().int().positive(),
  windowMs: z.number().int().positive(),
  /** Rejections by reason code. */
  reasons: z
    .array(z.strictObject({ code: z.enum(ERROR_CODE_LIST), count: z.number().int() }))
    .max(64),
  at: z.iso.datetime(),
});
export type CertificateAlert = z.infer<typeof CertificateAlertSchema>;

/** A sent message's delivery changed for one recipient (what the mail window tells the user). */
export const DeliveryEventSchema = z.strictObject({
  /** The message's id in the mailbox. */
  id: z.number().int().positive(),
  recipient: AddressSchema,
  state: z.enum(['processed', 'dispatched', 'failed', 'timed-out']),
  /** Why, for a failure: a reason code (a registry code or a relay reason) and a sentence. */
  reason: z.strictObject({ code: z.string().max(64), message: z.string().max(2000) }).optional(),
  at: z.iso.datetime(),
});
export type DeliveryEvent = z.infer<typeof DeliveryEventSchema>;

export const FolderSchema = z.enum(FOLDER_LIST);
export type Folder = z.infer<typeof FolderSchema>;

const MessageRefSchema = z.number().int().positive();
const HeaderTextSchema = z.string().max(4000);
/** A reason stored with a message or a delivery step: usually a registry code; kept as text
 * because messages stored by an older version may carry codes this version no longer knows. */
const StoredReasonSchema = z.strictObject({
  code: z.string().max(64),
  message: z.string().max(2000),
});

export const FolderCountSchema = z.strictObject({
  folder: FolderSchema,
  total: z.number().int().nonnegative(),
  unseen: z.number().int().nonnegative(),
});
export type FolderCount = z.infer<typeof FolderCountSchema>;

/** Per-recipient delivery of a sent message, counted (the Sent list's delivery column). */
export const DeliverySummarySchema = z.strictObject({
  recipients: z.number().int().nonnegative(),
  pending: z.number().int().nonnegative(),
  relayed: z.number().int().nonnegative(),
  processed: z.number().int().nonnegative(),
  dispatched: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  timedOut: z.number().int().nonnegative(),
});
export type DeliverySummary = z.infer<typeof DeliverySummarySchema>;

/** One row of the message list: read from the encrypted index, nothing decrypted. */
export const MessageSummarySchema = z.strictObject({
  id: MessageRefSchema,
  folder: FolderSchema,
  direction: z.enum(['in', 'out']),
  seen: z.boolean(),
  flagged: z.boolean(),
  answered: z.boolean(),
  /** When it arrived, or was stored as sent. */
  receivedAt: z.iso.datetime(),
  /** The message's own Date header, when it parses. */
  sentAt: z.iso.datetime().optional(),
  subject: HeaderTextSchema,
  sender: HeaderTextSchema,
  recipients: z.array(HeaderTextSchema).max(1000),
  snippet: z.string().max(1000),
  hasAttachments: z.boolean(),
  size: z.number().int().nonnegative(),
  /** Signature and sender trusted when it arrived (always true for what we sent). */
  trusted: z.boolean(),
  /** Outbound only. */
  delivery: DeliverySummarySchema.optional(),
});
export type MessageSummary = z.infer<typeof MessageSummarySchema>;

export const DeliveryStepSchema = z.strictObject({
  state: z.enum([
    'queued',
    'relayed',
    'retrying',
    'failed',
    'processed',
    'dispatched',
    'timed-out',
    'late',
  ]),
  at: z.iso.datetime(),
  reason: StoredReasonSchema.optional(),
});
export type DeliveryStep = z.infer<typeof DeliveryStepSchema>;

/** A sent message's delivery to one recipient: where it is now and how it got there. */
export const DeliveryRecipientSchema = z.strictObject({
  recipient: AddressSchema,
  /** The relay queue: queued, sending, relayed, failed (absent: never queued). */
  queue: z.enum(['queued', 'sending', 'relayed', 'failed']).optional(),
  /** Delivery notifications: pending until the recipient's HISP answers. */
  notification: z.enum(['pending', 'processed', 'dispatched', 'failed', 'timed-out']).optional(),
  steps: z.array(DeliveryStepSchema).max(200),
});
export type DeliveryRecipient = z.infer<typeof DeliveryRecipientSchema>;

export const AttachmentInfoSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  filename: z.string().max(1000),
  contentType: z.string().max(255),
  size: z.number().int().nonnegative(),
});

/** What the reading pane shows: the decrypted message, and whether and why it is trusted. */
export const OpenedMessageSchema = z.strictObject({
  summary: MessageSummarySchema,
  from: HeaderTextSchema,
  to: z.array(HeaderTextSchema).max(1000),
  cc: z.array(HeaderTextSchema).max(1000),
  date: z.iso.datetime().optional(),
  messageId: z.string().max(998).optional(),
  /** False when the message could not be decrypted: no body, and the reasons say why. */
  decrypted: z.boolean(),
  /** Plain-text body, to be shown as text (never as HTML). */
  text: z
    .string()
    .max(64 * 1024 * 1024)
    .optional(),
  /** HTML body exactly as sent: NOT sanitised; the UI sanitises it and renders it sandboxed. */
  html: z
    .string()
    .max(64 * 1024 * 1024)
    .optional(),
  attachments: z.array(AttachmentInfoSchema).max(1000),
  verification: z.strictObject({
    trusted: z.boolean(),
    /** The signer's Direct address. */
    signer: z.string().max(320).optional(),
    /** The signer certificate's subject. */
    signerSubject: z.string().max(2000).optional(),
    /** The trust anchor the signer chains to. */
    anchor: z.string().max(2000).optional(),
    reasons: z.array(StoredReasonSchema).max(64),
  }),
  /** Outbound only: per recipient. */
  delivery: z.array(DeliveryRecipientSchema).max(1000).optional(),
});
export type OpenedMessage = z.infer<typeof OpenedMessageSchema>;

/** A file attached in the compose window, as base64 (the whole message travels in one call). */
const ComposeAttachmentSchema = z.strictObject({
  filename: z.string().min(1).max(255),
  contentType: z.string().max(255),
  dataBase64: z.base64().max(Math.ceil((LIMITS.composeAttachmentBytes * 4) / 3) + 4),
});
export type ComposeAttachment = z.infer<typeof ComposeAttachmentSchema>;

const DraftFieldsSchema = z.strictObject({
  to: z.array(AddressSchema).max(100),
  cc: z.array(AddressSchema).max(100),
  subject: z.string().max(998),
  text: z.string().max(10 * 1024 * 1024),
  /** The Message-ID this answers. */
  inReplyTo: z.string().max(998).optional(),
  attachments: z.array(ComposeAttachmentSchema).max(LIMITS.composeAttachments),
});

export const DraftSchema = DraftFieldsSchema.extend({
  id: MessageRefSchema,
  updatedAt: z.iso.datetime(),
});
export type Draft = z.infer<typeof DraftSchema>;

export const DraftSummarySchema = z.strictObject({
  id: MessageRefSchema,
  updatedAt: z.iso.datetime(),
  to: z.array(AddressSchema).max(100),
  cc: z.array(AddressSchema).max(100),
  subject: z.string().max(998),
});

export const IdentitySchema = z.strictObject({
  /** A Direct address this identity signs for (a domain-bound certificate: `@domain`). */
  address: z.string().max(320),
  bound: z.enum(['address', 'domain']),
  fingerprintSha256: FingerprintSchema,
  subject: z.string().max(2000),
  notAfter: z.iso.datetime(),
});

/** Something the user must know about that is not tied to one message. */
export const AlertSchema = z.strictObject({
  kind: z.enum(['silence', 'relay']),
  message: z.string().max(2000),
  at: z.iso.datetime(),
});
export type Alert = z.infer<typeof AlertSchema>;

export const MailboxEventSchema = z.strictObject({
  folders: z.array(FolderCountSchema).max(FOLDER_LIST.length),
  /** Messages that just arrived in the Inbox or Untrusted (for the aria-live notice). */
  arrived: z
    .array(
      z.strictObject({
        id: MessageRefSchema,
        folder: FolderSchema,
        subject: HeaderTextSchema,
        sender: HeaderTextSchema,
      }),
    )
    .max(100),
});
export type MailboxEvent = z.infer<typeof MailboxEventSchema>;

const IdsSchema = z.array(MessageRefSchema).min(1).max(1000);

// ── Settings: trust anchors, trust bundles, identity import, audit log ──────────────────
/** A local domain of the practice, or '*' for every one (checked properly by the HISP). */
const LocalDomainSchema = z.string().min(1).max(253);
const TrustDirectionSchema = z.enum(['inbound', 'outbound']);
const TrustDirectionsSchema = z.enum(['inbound', 'outbound', 'both']);
/** A trust bundle's name (the HISP checks the characters). */
const BundleNameSchema = z.string().min(1).max(64);
/** Certificates given as text: 1 MiB of certificate bytes (the anchor file bound), as base64. */
const CERTIFICATE_TEXT_MAX = Math.ceil((1024 * 1024 * 4) / 3) + 4;
/** A PKCS#12 file: 4 MiB (the import bound of hisp/keys), as base64. */
const PKCS12_BASE64_MAX = Math.ceil((4 * 1024 * 1024 * 4) / 3) + 4;
/** Most audit entries in one `auditLog` answer. */
const AUDIT_PAGE_MAX = 5000;
/** Largest audit export handed over in one call (larger: filter, or `sealpost profile audit`). */
export const AUDIT_EXPORT_MAX_CHARS = 16 * 1024 * 1024;

/** One certificate, named. */
const CertificateRefSchema = z.strictObject({
  fingerprintSha256: FingerprintSchema,
  subject: z.string().max(2000),
  notAfter: z.iso.datetime(),
});

/** A trust anchor for one local domain and direction, by hand or from a trust bundle. */
export const AnchorSchema = z.strictObject({
  fingerprintSha256: FingerprintSchema,
  subject: z.string().max(2000),
  notAfter: z.iso.datetime(),
  /** A local domain, or '*' for every one. */
  domain: LocalDomainSchema,
  direction: TrustDirectionSchema,
  origin: z.enum(['manual', 'bundle']),
  /** The trust bundle it came from (origin 'bundle'). */
  bundle: BundleNameSchema.optional(),
  addedAt: z.iso.datetime(),
});
export type Anchor = z.infer<typeof AnchorSchema>;

export const TrustBundleSchema = z.strictObject({
  name: BundleNameSchema,
  /** The https:// URL (or, added on the command line, a file path). */
  source: z.string().max(2048),
  domain: LocalDomainSchema,
  direction: TrustDirectionsSchema,
  /** How often the HISP refreshes it; 0 = by hand only. */
  refreshHours: z
    .number()
    .nonnegative()
    .max(24 * 365),
  requireSigned: z.boolean(),
  /** The configured trusted signers. */
  signers: z
    .array(z.strictObject({ fingerprintSha256: FingerprintSchema, subject: z.string().max(2000) }))
    .max(64),
  /** Whether the last bundle read was signed (absent: never read). */
  signed: z.boolean().optional(),
  /** Subject of the signer of the last bundle read. */
  signer: z.string().max(2000).optional(),
  anchorCount: z.number().int().nonnegative(),
  addedAt: z.iso.datetime(),
  checkedAt: z.iso.datetime().optional(),
  changedAt: z.iso.datetime().optional(),
  /** Why the last refresh failed (its anchors were kept). */
  lastError: z.string().max(2000).optional(),
});
export type TrustBundle = z.infer<typeof TrustBundleSchema>;

/** What one refresh of a bundle did. */
export const BundleRefreshSchema = z.strictObject({
  ok: z.boolean(),
  /** The same bytes as last time: nothing re-imported. */
  unchanged: z.boolean(),
  added: z.array(FingerprintSchema).max(10_000),
  removed: z.array(FingerprintSchema).max(10_000),
  /** Certificates of the bundle not taken as anchors, and why. */
  skipped: z
    .array(
      z.strictObject({
        fingerprintSha256: FingerprintSchema.optional(),
        subject: z.string().max(2000).optional(),
        reason: ReasonSchema,
      }),
    )
    .max(10_000),
  /** Why it failed (ok false); the bundle's anchors were kept. */
  reason: ReasonSchema.optional(),
});
export type BundleRefresh = z.infer<typeof BundleRefreshSchema>;

const AuditFilterSchema = z.strictObject({
  /** Entries at or after this time. */
  since: z.iso.datetime({ offset: true }).optional(),
  /** Entries before this time. */
  until: z.iso.datetime({ offset: true }).optional(),
  action: z.enum(AUDIT_ACTION_LIST).optional(),
  /** A counterpart address (any case). */
  counterpart: z.string().min(1).max(320).optional(),
});

export const AuditEntrySchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  /** ISO 8601 UTC as written. Text, like `action`: a changed entry is shown as it now is. */
  at: z.string().max(64),
  /** The local user who did it. */
  user: z.string().max(1024),
  /** One of AUDIT_ACTION_LIST, as written. */
  action: z.string().max(64),
  counterpart: z.string().max(1024).optional(),
  messageId: z.string().max(1024).optional(),
  /** Identifiers and counts, as a JSON object's text (never message content). */
  detail: z.string().max(4096).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

/** The audit log's MAC chain, walked whole: intact, or the first bad entry and what is wrong. */
export const AuditChainSchema = z.strictObject({
  intact: z.boolean(),
  entries: z.number().int().nonnegative(),
  problem: z
    .enum(['changed', 'missing', 'inserted', 'reordered', 'tail removed', 'head changed'])
    .optional(),
  /** The first bad entry. */
  seq: z.number().int().nonnegative().optional(),
  message: z.string().max(2000).optional(),
});
export type AuditChain = z.infer<typeof AuditChainSchema>;

// ── Settings: testing the relay and upstream accounts ────────────────────────────────────
/** The mail accounts a connection test can try. */
export const CONNECTION_TARGETS = ['relay', 'upstream'] as const;

/** One step of a connection test, in the order they happen. */
export const ConnectionStepSchema = z.strictObject({
  step: z.enum(['connect', 'tls', 'auth', 'mailbox']),
  ok: z.boolean(),
  /** What the server said or did (never a password). */
  detail: z.string().max(2000).optional(),
});
export type ConnectionStep = z.infer<typeof ConnectionStepSchema>;

/** What a connection test found: every step tried, and why the first failing one failed. */
export const ConnectionTestSchema = z.strictObject({
  ok: z.boolean(),
  target: z.enum(CONNECTION_TARGETS),
  /** 'host:port' tried (absent when there is no single server: not configured, or relay "mx"). */
  server: z.string().max(300).optional(),
  steps: z.array(ConnectionStepSchema).max(8),
  /** Why it failed (ok false). */
  reason: ReasonSchema.optional(),
});
export type ConnectionTest = z.infer<typeof ConnectionTestSchema>;

// ── Settings: preferences (mail accounts, delivery notifications, auto-lock) ─────────────
/**
 * Where a group of preferences comes from, and so whether it can be changed here:
 * `profile` — saved in the profile by this screen (editable); `organisation` — the machine's
 * policy file sets and locks it ("managed by your organisation"); `config` — the
 * configuration file (or command line) Sealpost was started with sets it.
 */
export const PREFERENCE_SOURCES = ['profile', 'organisation', 'config'] as const;
export const PreferenceSourceSchema = z.enum(PREFERENCE_SOURCES);
export type PreferenceSource = z.infer<typeof PreferenceSourceSchema>;

export const LockableSettingSchema = z.enum(LOCKABLE_SETTING_LIST);
export type LockableSetting = z.infer<typeof LockableSettingSchema>;

/** A mail server's host name or IP address (no scheme, no port, no spaces). */
export const MailHostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'a host name or IP address');
export const MailPortSchema = z.number().int().min(1).max(65_535);
/** `starttls`: plain connection upgraded with STARTTLS (required); `implicit`: TLS from the start. */
export const SecureModeSchema = z.enum(['starttls', 'implicit']);
/** An account name on a mail server (never a password). */
const AccountUserSchema = z.string().min(1).max(256);
/** A password typed into Settings: only ever sent to the HISP, never returned. */
const PasswordSchema = z.string().min(1).max(1024);
/** What the upstream account does with a message once it is stored here. */
export const AFTER_STORE_LIST = ['keep', 'flag', 'move', 'delete'] as const;

const SmarthostFields = {
  kind: z.literal('smarthost'),
  host: MailHostSchema,
  port: MailPortSchema,
  secure: SecureModeSchema,
  user: AccountUserSchema.optional(),
};
const MxRelaySchema = z.strictObject({
  kind: z.literal('mx'),
  /** Domains whose mail servers may be used without TLS (everyone else needs it). */
  exceptions: z.array(MailHostSchema).max(1000),
});
const ImapFields = {
  kind: z.literal('imap'),
  host: MailHostSchema,
  port: MailPortSchema,
  secure: SecureModeSchema,
  user: AccountUserSchema,
  /** The mailbox read (default INBOX). */
  mailbox: z.string().min(1).max(256).optional(),
  afterStore: z.enum(AFTER_STORE_LIST),
  /** The mailbox moved to when `afterStore` is `move`. */
  moveTo: z.string().min(1).max(256).optional(),
};
const NoneSchema = z.strictObject({ kind: z.literal('none') });

/** How outbound mail leaves: not at all, through a smarthost, or to each domain's MX hosts. */
export const RelaySettingSchema = z.discriminatedUnion('kind', [
  NoneSchema,
  z.strictObject(SmarthostFields),
  MxRelaySchema,
]);
export type RelaySetting = z.infer<typeof RelaySettingSchema>;
/** The relay as shown: whether a password is saved, never the password. */
export const RelayViewSchema = z.discriminatedUnion('kind', [
  NoneSchema,
  z.strictObject({ ...SmarthostFields, passwordSet: z.boolean() }),
  MxRelaySchema,
]);
export type RelayView = z.infer<typeof RelayViewSchema>;

/** Where inbound mail is pulled from: nowhere, or an IMAP mailbox. */
export const UpstreamSettingSchema = z.discriminatedUnion('kind', [
  NoneSchema,
  z.strictObject(ImapFields),
]);
export type UpstreamSetting = z.infer<typeof UpstreamSettingSchema>;
export const UpstreamViewSchema = z.discriminatedUnion('kind', [
  NoneSchema,
  z.strictObject({
    ...ImapFields,
    /** Empty: the organisation presets the server and the user has not given an account yet. */
    user: z.string().max(256),
    passwordSet: z.boolean(),
  }),
]);
export type UpstreamView = z.infer<typeof UpstreamViewSchema>;

/** Delivery notifications (MDN) and the alerts built on them. */
export const DeliverySettingSchema = z.strictObject({
  /** Hours to wait for the recipient's `processed` notification before "timed out" (1 by default). */
  timeoutHours: z.number().min(0.05).max(720),
  /** Ask receiving HISPs for a `dispatched` notification too (timely and reliable delivery). */
  requestDispatched: z.boolean(),
  /** Alert when no Direct message has arrived for this many hours; 0 = never. */
  silenceAlertHours: z.number().min(0).max(720),
});
export type DeliverySetting = z.infer<typeof DeliverySettingSchema>;

/** Minutes without use before Sealpost locks; 0 = never. */
export const AutoLockMinutesSchema = z.number().int().min(0).max(1440);

function sourced<T extends z.ZodType>(value: T) {
  return z.strictObject({
    value,
    source: PreferenceSourceSchema,
    /**
     * With source 'organisation', for the relay and upstream accounts: the fields the policy
     * sets (`host`, `port`, `secure`, `user`, `exceptions`, `mailbox`…). The ones it leaves
     * out (often `user`) and the password are the user's to fill in.
     */
    managedFields: z.array(z.string().max(40)).max(20).optional(),
  });
}

/** Everything Settings › Mail server and preferences shows. */
export const PreferencesSchema = z.strictObject({
  relay: sourced(RelayViewSchema),
  upstream: sourced(UpstreamViewSchema),
  delivery: sourced(DeliverySettingSchema),
  autoLock: sourced(AutoLockMinutesSchema),
  /** The configuration file Sealpost was started with, when there is one. */
  configFile: z.string().max(4096).optional(),
  /** The policy file in force, when there is one. */
  policyFile: z.string().max(4096).optional(),
  /** Why the policy file could not be used (every lockable setting is then locked). */
  policyProblem: z.string().max(2000).optional(),
  /** Every setting the organisation locked, the trust ones included. */
  managed: z.array(LockableSettingSchema).max(LOCKABLE_SETTING_LIST.length),
  /** false: the organisation turned automatic updates off. */
  autoUpdate: z.boolean(),
  /** The folder Sealpost keeps this profile's data in. */
  dataLocation: z.string().max(4096),
});
export type Preferences = z.infer<typeof PreferencesSchema>;

interface CallSpec {
  readonly description: string;
  readonly params: z.ZodType;
  readonly result: z.ZodType;
}
interface EventSpec {
  readonly description: string;
  readonly data: z.ZodType;
}

export const calls = {
  status: {
    description: "The HISP's current status.",
    params: NoParams,
    result: StatusSchema,
  },
  lock: {
    description:
      'Lock the profile: the HISP closes its encrypted database and forgets the keys derived from the master key until it is unlocked.',
    params: NoParams,
    result: StatusSchema,
  },
  unlock: {
    description:
      "Unlock the profile with the system keychain (no passphrase) or, for a passphrase-vault profile, the vault's passphrase.",
    params: z.strictObject({ passphrase: z.string().min(1).max(1024).optional() }),
    result: StatusSchema,
  },
  checkRecipients: {
    description:
      "Find each recipient's usable encryption certificate the way sending will (DNS CERT, then LDAP), with the sending address's outbound trust anchors; say per recipient what was found and why anything was refused.",
    params: z.strictObject({
      from: AddressSchema,
      addresses: z.array(AddressSchema).min(1).max(100),
    }),
    result: z.strictObject({ recipients: z.array(RecipientCheckSchema).max(100) }),
  },
  sendMessage: {
    description:
      "Compose a plain-text message (with attachments) and send it: signed with the sender's identity, encrypted for each recipient whose certificate discovery finds (the others are refused on their own, with the reason; each Bcc recipient gets a copy of its own), stored and queued for relay. The result says per recipient what happened. A draft named by `draftId` is deleted once the message is queued.",
    params: z.strictObject({
      from: AddressSchema,
      to: z.array(AddressSchema).min(1).max(100),
      cc: z.array(AddressSchema).max(100).optional(),
      bcc: z.array(AddressSchema).max(100).optional(),
      subject: z.string().max(998),
      text: z.string().max(10 * 1024 * 1024),
      attachments: z.array(ComposeAttachmentSchema).max(LIMITS.composeAttachments).optional(),
      inReplyTo: z.string().max(998).optional(),
      references: z.array(z.string().max(998)).max(100).optional(),
      draftId: MessageRefSchema.optional(),
    }),
    result: z.strictObject({
      /** The stored message (absent when nothing could be sent). */
      id: z.number().int().positive().optional(),
      messageId: z.string().max(998).optional(),
      recipients: z
        .array(
          z.strictObject({
            address: AddressSchema,
            state: z.enum(['queued', 'refused']),
            check: RecipientCheckSchema,
          }),
        )
        .max(200),
    }),
  },
  identities: {
    description: "The profile's Direct identities: the addresses it can send from.",
    params: NoParams,
    result: z.strictObject({ identities: z.array(IdentitySchema).max(1000) }),
  },
  folders: {
    description: 'Each folder with its number of messages and unread messages.',
    params: NoParams,
    result: z.strictObject({ folders: z.array(FolderCountSchema).max(FOLDER_LIST.length) }),
  },
  listMessages: {
    description:
      'A page of a folder, newest first, from the encrypted index (nothing is decrypted). `offset` lets a virtualized list jump anywhere.',
    params: z.strictObject({
      folder: FolderSchema,
      offset: z.number().int().nonnegative().max(10_000_000).optional(),
      limit: z.number().int().min(1).max(500).optional(),
    }),
    result: z.strictObject({
      messages: z.array(MessageSummarySchema).max(500),
      total: z.number().int().nonnegative(),
    }),
  },
  searchMessages: {
    description:
      'Full-text search over subject, sender and body through the encrypted index, best matches first.',
    params: z.strictObject({
      text: z.string().min(1).max(500),
      folder: FolderSchema.optional(),
      limit: z.number().int().min(1).max(500).optional(),
    }),
    result: z.strictObject({ messages: z.array(MessageSummarySchema).max(500) }),
  },
  openMessage: {
    description:
      'Decrypt and verify one message in memory for the reading pane (audited), and mark it read.',
    params: z.strictObject({ id: MessageRefSchema }),
    result: OpenedMessageSchema,
  },
  messageDelivery: {
    description: "A sent message's delivery, per recipient, step by step.",
    params: z.strictObject({ id: MessageRefSchema }),
    result: z.strictObject({ recipients: z.array(DeliveryRecipientSchema).max(1000) }),
  },
  updateMessages: {
    description: 'Mark messages read or unread, flag or unflag them, or move them to a folder.',
    params: z.strictObject({
      ids: IdsSchema,
      seen: z.boolean().optional(),
      flagged: z.boolean().optional(),
      folder: FolderSchema.exclude(['drafts', 'outbox']).optional(),
    }),
    result: z.strictObject({ updated: z.number().int().nonnegative() }),
  },
  deleteMessages: {
    description:
      'Move messages to Trash; messages already in Trash are deleted for good (their bytes and index entries are erased).',
    params: z.strictObject({ ids: IdsSchema }),
    result: z.strictObject({
      trashed: z.number().int().nonnegative(),
      deleted: z.number().int().nonnegative(),
    }),
  },
  getAttachment: {
    description:
      "One attachment's bytes, decrypted in memory (audited), to open or save (`purpose` 'save', the default: audited as 'attachment-save'), or to attach to a forwarded message ('forward': audited as 'attachment-forward'; the forward itself is then audited as 'send'). Its name and type are in `openMessage`'s `attachments`.",
    params: z.strictObject({
      id: MessageRefSchema,
      index: z.number().int().nonnegative(),
      purpose: z.enum(['save', 'forward']).optional(),
    }),
    result: z.strictObject({ dataBase64: z.base64() }),
  },
  loadRemoteImages: {
    description:
      "On the user's request for one message: the HISP fetches the images its HTML names (public addresses only, no cookies or referrer), keeps those that really are images, and returns them as data: URIs for the sandboxed frame. The sender can tell the message was opened, so this is audited.",
    params: z.strictObject({ id: MessageRefSchema }),
    result: z.strictObject({
      images: z
        .array(
          z.strictObject({
            /** The `<img src>` value as the message has it (what the UI replaces). */
            source: z.string().max(8192),
            dataUri: z
              .string()
              .regex(/^data:image\/(png|jpeg|gif|webp|bmp|x-icon);base64,[A-Za-z0-9+/]*={0,2}$/)
              .max(8 * 1024 * 1024),
          }),
        )
        .max(50),
      failed: z
        .array(z.strictObject({ source: z.string().max(8192), reason: z.string().max(2000) }))
        .max(50),
    }),
  },
  listDrafts: {
    description: 'The saved drafts, most recently changed first.',
    params: NoParams,
    result: z.strictObject({ drafts: z.array(DraftSummarySchema).max(10_000) }),
  },
  getDraft: {
    description: 'One draft, with its attachments.',
    params: z.strictObject({ id: MessageRefSchema }),
    result: DraftSchema,
  },
  saveDraft: {
    description:
      'Save a draft (encrypted with the rest of the profile): a new one without `id`, else replace that draft.',
    params: DraftFieldsSchema.extend({ id: MessageRefSchema.optional() }),
    result: z.strictObject({ id: MessageRefSchema, updatedAt: z.iso.datetime() }),
  },
  deleteDraft: {
    description: 'Delete a draft for good.',
    params: z.strictObject({ id: MessageRefSchema }),
    result: z.strictObject({}),
  },
  listAnchors: {
    description:
      "The profile's trust anchors, each with its local domain ('*': every one), direction and origin (by hand, or the trust bundle it came from). `domain` also lists the '*' anchors that serve it.",
    params: z.strictObject({
      domain: LocalDomainSchema.optional(),
      direction: TrustDirectionSchema.optional(),
    }),
    result: z.strictObject({ anchors: z.array(AnchorSchema).max(20_000) }),
  },
  importAnchors: {
    description:
      'Add trust anchors by hand from `certificates`: PEM text (one or more certificates, or a PKCS#7 bundle), or base64 of a DER certificate or .p7b bundle. Expired or not-yet-valid certificates and weak keys are refused, each with its reasons; the rest are added for `domain` (default every local domain) and `direction` (default both). Audited as a trust change.',
    params: z.strictObject({
      certificates: z.string().min(1).max(CERTIFICATE_TEXT_MAX),
      domain: LocalDomainSchema.optional(),
      direction: TrustDirectionsSchema.optional(),
    }),
    result: z.strictObject({
      added: z.array(CertificateRefSchema).max(10_000),
      /** Already anchors for that domain and direction: nothing changed for them. */
      already: z.array(CertificateRefSchema).max(10_000),
      refused: z
        .array(CertificateRefSchema.extend({ reasons: z.array(ReasonSchema).min(1).max(16) }))
        .max(10_000),
    }),
  },
  removeAnchor: {
    description:
      'Remove an anchor added by hand (for `domain` and `direction`, default wherever it was added). An anchor from a trust bundle is refused (ANCHOR_NOT_FOUND naming the bundle): it goes with its bundle. Audited as a trust change.',
    params: z.strictObject({
      fingerprintSha256: FingerprintSchema,
      domain: LocalDomainSchema.optional(),
      direction: TrustDirectionsSchema.optional(),
    }),
    result: z.strictObject({ removed: z.array(AnchorSchema).max(1000) }),
  },
  listBundles: {
    description:
      'The trust bundles: source, signers, anchors, when each was last checked and changed, and why the last refresh failed, if it did.',
    params: NoParams,
    result: z.strictObject({ bundles: z.array(TrustBundleSchema).max(1000) }),
  },
  addBundle: {
    description:
      "Register a trust bundle (PKCS#7 .p7b) at an https:// URL and import it at once (fetched from public addresses only, as serve fetches); if that fails nothing is registered and the error says why. A signed bundle is used only when signed by one of `signerPem`'s certificates (or a certificate they issued); `requireSigned` refuses unsigned ones. Refreshed every `refreshHours` (default 24; 0 = by hand). Audited as a trust change.",
    params: z.strictObject({
      name: BundleNameSchema,
      url: z.string().min(9).max(2048).startsWith('https://'),
      domain: LocalDomainSchema.optional(),
      direction: TrustDirectionsSchema.optional(),
      refreshHours: z
        .number()
        .nonnegative()
        .max(24 * 365)
        .optional(),
      requireSigned: z.boolean().optional(),
      signerPem: z.string().min(1).max(CERTIFICATE_TEXT_MAX).optional(),
    }),
    result: z.strictObject({ bundle: TrustBundleSchema, refresh: BundleRefreshSchema }),
  },
  refreshBundle: {
    description:
      "Read a trust bundle again now. Unchanged bytes are not re-imported; anchors no longer in it are removed, new ones added. A failed refresh keeps the bundle's anchors and says why (`refresh.ok` false).",
    params: z.strictObject({ name: BundleNameSchema }),
    result: z.strictObject({ bundle: TrustBundleSchema, refresh: BundleRefreshSchema }),
  },
  removeBundle: {
    description:
      'Remove a trust bundle and every anchor that came from it. Audited as a trust change.',
    params: z.strictObject({ name: BundleNameSchema }),
    result: z.strictObject({ removed: TrustBundleSchema }),
  },
  importIdentity: {
    description:
      "Import a Direct identity (certificate and private key) from a PKCS#12 file (.p12/.pfx, base64): the key goes to the system keychain, or wrapped into the encrypted database for a vault profile. A wrong password is PKCS12_BAD_PASSWORD; a legacy RC2/RC4 file is PKCS12_UNSUPPORTED with the OpenSSL commands that convert it; expired certificates and weak keys are refused. The same certificate again changes nothing (`already`). Audited as 'key-import'; mail can be sent from its addresses at once.",
    params: z.strictObject({
      pkcs12Base64: z.base64().min(4).max(PKCS12_BASE64_MAX),
      password: z.string().max(1024),
    }),
    result: z.strictObject({
      identity: z.strictObject({
        fingerprintSha256: FingerprintSchema,
        subject: z.string().max(2000),
        notAfter: z.iso.datetime(),
        addresses: z
          .array(
            z.strictObject({ address: z.string().max(320), bound: z.enum(['address', 'domain']) }),
          )
          .max(1000),
        keyLocation: z.enum(['keychain', 'database']),
      }),
      already: z.boolean(),
    }),
  },
  auditLog: {
    description:
      "The audit log (accounting of disclosures), filtered, oldest first: at most `limit` (default 500) of the newest matching entries. `chain` says whether the log's MAC chain is intact, walked whole, or where it is broken.",
    params: AuditFilterSchema.extend({
      limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).optional(),
    }),
    result: z.strictObject({
      entries: z.array(AuditEntrySchema).max(AUDIT_PAGE_MAX),
      chain: AuditChainSchema,
    }),
  },
  exportAudit: {
    description:
      "Export the filtered audit log as CSV (RFC 4180, formula-safe) or JSON, to save as `filename`. The export is itself recorded as 'audit-export'. Larger than 16 MiB: LIMIT_EXCEEDED (filter it, or use `sealpost profile audit`).",
    params: AuditFilterSchema.extend({ format: z.enum(['csv', 'json']) }),
    result: z.strictObject({
      filename: z.string().max(255),
      data: z.string().max(AUDIT_EXPORT_MAX_CHARS),
      entries: z.number().int().nonnegative(),
    }),
  },
  testConnection: {
    description:
      "Try the configured relay (a smarthost) or upstream mailbox the way sending or pulling reaches it, without sending or fetching anything: connect, TLS (required, certificate verified), log in; for the upstream mailbox also open the mailbox read-only. Says per step how it went and why the first failing step failed (no password is ever in the answer). A relay that delivers straight to each domain's MX hosts has no single server to try. With `relay` or `upstream` (for that target), the account as typed in Settings is tried before it is saved; `password` absent uses the saved one when the server and user are the same.",
    params: z.strictObject({
      target: z.enum(CONNECTION_TARGETS),
      relay: RelaySettingSchema.optional(),
      upstream: UpstreamSettingSchema.optional(),
      password: PasswordSchema.optional(),
    }),
    result: ConnectionTestSchema,
  },
  getPreferences: {
    description:
      'The mail accounts (relay, upstream), delivery notification preferences, auto-lock, where each comes from (saved here, locked by the organisation, or the configuration file), what the organisation manages, and where the data is kept. Passwords are never returned: only whether one is saved.',
    params: NoParams,
    result: PreferencesSchema,
  },
  updatePreferences: {
    description:
      "Change the groups given and save them in the profile (encrypted); the rest is kept. A group the organisation locked is SETTING_MANAGED, one set by the configuration file SETTING_IN_CONFIG_FILE, and nothing is changed then. `passwords` replaces a saved password (allowed for an account the organisation presets, since the policy file never holds one); a password is kept while the account's server and user stay the same. A relay or upstream account with a user and no password is refused. Mail is restarted on the new settings at once; audited as 'settings-change' (never a password).",
    params: z.strictObject({
      relay: RelaySettingSchema.optional(),
      upstream: UpstreamSettingSchema.optional(),
      delivery: DeliverySettingSchema.optional(),
      autoLockMinutes: AutoLockMinutesSchema.optional(),
      passwords: z
        .strictObject({ relay: PasswordSchema.optional(), upstream: PasswordSchema.optional() })
        .optional(),
    }),
    result: PreferencesSchema,
  },
} as const satisfies Record<string, CallSpec>;

export const events = {
  status: {
    description: 'The HISP status: sent to each new connection and whenever it changes.',
    data: StatusSchema,
  },
  delivery: {
    description:
      'A sent message was processed, dispatched, failed or timed out for a recipient (by a delivery notification, a permanent relay failure, or no notification within the configured time).',
    data: DeliveryEventSchema,
  },
  certificateAlert: {
    description:
      'Many invalid certificates for one recipient domain within a short time (a spoofed DNS answer or a broken CA: risks 10 and 11). Sent once each time a domain crosses the threshold.',
    data: CertificateAlertSchema,
  },
  mailbox: {
    description:
      'The mailbox changed (mail arrived, a message was sent, moved or deleted): the folder counts, and what just arrived.',
    data: MailboxEventSchema,
  },
  alert: {
    description:
      'Something the user must know that concerns no single message: no inbound mail for the configured time (risk-5), or the relay failing.',
    data: AlertSchema,
  },
} as const satisfies Record<string, EventSpec>;

export type Method = keyof typeof calls;
export type EventName = keyof typeof events;
export type CallParams<M extends Method> = z.input<(typeof calls)[M]['params']>;
export type CallResult<M extends Method> = z.output<(typeof calls)[M]['result']>;
export type EventData<E extends EventName> = z.output<(typeof events)[E]['data']>;

export const METHODS = Object.keys(calls) as [Method, ...Method[]];
export const EVENT_NAMES = Object.keys(events) as [EventName, ...EventName[]];

export function isMethod(value: string): value is Method {
  return Object.hasOwn(calls, value);
}
export function isEventName(value: string): value is EventName {
  return Object.hasOwn(events, value);
}

/** What the HISP implements: one async function per call. */
export type Handlers = {
  [M in Method]: (params: CallParams<M>, context: CallContext) => Promise<CallResult<M>>;
};

export interface CallContext {
  /** Aborted when the caller cancels or the connection closes. */
  readonly signal: AbortSignal;
  /** Identifies the connection in logs; never a secret. */
  readonly connectionId: string;
}
