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
} as const satisfies Record<string, CallSpec>;

export const events = {
  status: {
    description: 'The HISP status: sent to each new connection and whenever it changes.',
    data: StatusSchema,
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
