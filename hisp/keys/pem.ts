/**
 * PEM (RFC 7468) framing: `-----BEGIN LABEL-----`, optional RFC 1421 headers (`Proc-Type:`,
 * `DEK-Info:`), base64, `-----END LABEL-----`. Text around blocks (OpenSSL's "Bag Attributes",
 * "subject=" lines, comments) is ignored. The base64 is read strictly: any character other
 * than the alphabet, padding and whitespace makes the block invalid.
 */
import { KEY_LIMITS } from './limits.js';

export interface PemBlock {
  readonly label: string;
  /** RFC 1421 headers ("Proc-Type", "DEK-Info"), names as written. */
  readonly headers: ReadonlyMap<string, string>;
  readonly der: Buffer;
  /** The whole block as text, BEGIN to END line (for Node's own PEM reader). */
  readonly text: string;
}

export class PemError extends Error {
  override readonly name = 'PemError';
}

const BEGIN = '-----BEGIN ';
const DASHES = '-----';
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** True when the bytes look like PEM text (a BEGIN line somewhere near the start). */
export function looksLikePem(data: Uint8Array): boolean {
  const head = Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 64 * 1024));
  return head.includes(BEGIN, 0, 'latin1');
}

/**
 * Every PEM block in the text, in order.
 * @throws PemError for an unterminated block, a mismatched END label, bad base64, or more
 * than `maxBlocks` blocks.
 */
export function readPemBlocks(
  data: Uint8Array,
  maxBlocks: number = KEY_LIMITS.pemBlocks,
): PemBlock[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, pos);
    if (begin < 0) break;
    if (blocks.length >= maxBlocks) throw new PemError(`more than ${maxBlocks} PEM blocks`);
    const labelEnd = text.indexOf(DASHES, begin + BEGIN.length);
    if (labelEnd < 0) throw new PemError('malformed PEM BEGIN line');
    const label = text.slice(begin + BEGIN.length, labelEnd);
    if (!/^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/.test(label) || label.length > 64)
      throw new PemError('malformed PEM BEGIN line');
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, labelEnd);
    if (end < 0) throw new PemError(`PEM block "${label}" has no END line`);
    const nextBegin = text.indexOf(BEGIN, labelEnd);
    if (nextBegin >= 0 && nextBegin < end)
      throw new PemError(`PEM block "${label}" is not closed before the next BEGIN line`);
    const bodyLines = text.slice(labelEnd + DASHES.length, end).split(/\r?\n|\r/);
    const headers = new Map<string, string>();
    let base64 = '';
    let inHeaders = true;
    for (const rawLine of bodyLines) {
      const line = rawLine.trim();
      if (line === '') {
        if (headers.size > 0 || base64 !== '') inHeaders = false;
        continue;
      }
      if (inHeaders && base64 === '' && /^[A-Za-z-]+:/.test(line)) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon), line.slice(colon + 1).trim());
        continue;
      }
      inHeaders = false;
      base64 += line.replace(/[ \t]/g, '');
    }
    if (!BASE64_BODY.test(base64) || base64.length % 4 === 1)
      throw new PemError(`PEM block "${label}" holds invalid base64`);
    const der = Buffer.from(base64, 'base64');
    if (der.length === 0) throw new PemError(`PEM block "${label}" is empty`);
    const blockEnd = end + endLine.length;
    blocks.push({ label, headers, der, text: text.slice(begin, blockEnd) });
    pos = blockEnd;
  }
  return blocks;
}
