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
      "Compose a plain-text message and send it: signed with the sender's identity, encrypted for each recipient whose certificate discovery finds (the others are refused on their own, with the reason), stored and queued for relay. The result says per recipient what happened.",
    params: z.strictObject({
      from: AddressSchema,
      to: z.array(AddressSchema).min(1).max(100),
      cc: z.array(AddressSchema).max(100).optional(),
      subject: z.string().max(998),
      text: z.string().max(10 * 1024 * 1024),
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
} as const satisfies Record<string, CallSpec>;

export const events = {
  status: {
    description: 'The HISP status: sent to each new connection and whenever it changes.',
    data: StatusSchema,
  },
  delivery: {
    description:
      'A sent message was processed, dispatched or failed for a recipient (by a delivery notification, or a permanent relay failure).',
    data: DeliveryEventSchema,
  },
  certificateAlert: {
    description:
      'Many invalid certificates for one recipient domain within a short time (a spoofed DNS answer or a broken CA: risks 10 and 11). Sent once each time a domain crosses the threshold.',
    data: CertificateAlertSchema,
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
