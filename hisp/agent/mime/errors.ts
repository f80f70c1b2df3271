/** Error helpers for the MIME layer: messages name positions and bounds, never content. */
import { HispError } from '../../api/errors.js';

export function malformed(message: string): HispError {
  return new HispError('MIME_MALFORMED', message);
}

export function tooBig(message: string): HispError {
  return new HispError('LIMIT_EXCEEDED', message);
}
