/**
 * The envelope that carries the contract over any transport. Messages are plain JSON values
 * (structured-clone safe for MessagePorts, JSON text for WebSockets).
 *
 *   UI -> HISP   { t: 'req', id, method, params }   a call
 *                { t: 'cancel', id }                 give up on a call
 *   HISP -> UI   { t: 'res', id, ok: true, result }  the answer
 *                { t: 'res', id, ok: false, error }  a typed error (see errors.ts)
 *                { t: 'evt', name, data }            an event
 */
import { z } from 'zod';
import { ERROR_CODE_LIST } from './errors.js';

/** WebSocket subprotocol spoken by the bridge. */
export const WIRE_PROTOCOL = 'sealpost.v1';
/** Browsers cannot set headers on a WebSocket: the bearer token rides in a second subprotocol. */
export const BEARER_PROTOCOL_PREFIX = 'sealpost.bearer.';

const Id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const Name = z.string().min(1).max(64);

export const SerializedErrorSchema = z.strictObject({
  name: z.literal('HispError'),
  code: z.enum(ERROR_CODE_LIST),
  message: z.string().max(2000),
  userFixable: z.boolean(),
});

export const RequestMessageSchema = z.strictObject({
  t: z.literal('req'),
  id: Id,
  method: Name,
  params: z.unknown(),
});
export const CancelMessageSchema = z.strictObject({ t: z.literal('cancel'), id: Id });
export const ResponseMessageSchema = z.discriminatedUnion('ok', [
  z.strictObject({ t: z.literal('res'), id: Id, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    t: z.literal('res'),
    id: Id,
    ok: z.literal(false),
    error: SerializedErrorSchema,
  }),
]);
export const EventMessageSchema = z.strictObject({
  t: z.literal('evt'),
  name: Name,
  data: z.unknown(),
});

export const ClientMessageSchema = z.union([RequestMessageSchema, CancelMessageSchema]);
export const ServerMessageSchema = z.union([ResponseMessageSchema, EventMessageSchema]);

export type RequestMessage = z.infer<typeof RequestMessageSchema>;
export type CancelMessage = z.infer<typeof CancelMessageSchema>;
export type ResponseMessage = z.infer<typeof ResponseMessageSchema>;
export type EventMessage = z.infer<typeof EventMessageSchema>;
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ServerMessage = z.infer<typeof ServerMessageSchema>;
export type WireMessage = ClientMessage | ServerMessage;
