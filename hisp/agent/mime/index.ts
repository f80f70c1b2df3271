/**
 * MIME for the security agent: a byte-exact parser (parser.ts), header and Content-Type
 * reading (headers.ts), transfer-encoding decoding (decode.ts), RFC 5322 address lists
 * (address.ts), and encoders for outbound messages (encode.ts). Bounds: limits.ts.
 */
export { parseMime, parseEmbeddedMessage, type MimeEntity } from './parser.js';
export {
  decodeCharset,
  decodeEncodedWords,
  headerValue,
  headerValues,
  parseContentType,
  type ContentType,
  type HasHeaders,
  type MimeHeader,
} from './headers.js';
export { decodeBase64Strict, decodeBody, decodeQuotedPrintable } from './decode.js';
export { normalizeAddress, parseAddressList, type ParsedAddress } from './address.js';
export { base64Lines, base64LinesLength, encodeHeaderWord, foldHeader, toCrlf } from './encode.js';
export { ADDRESS_LIMITS, MIME_LIMITS, type MimeLimits } from './limits.js';
