import { describe, expect, it } from 'vitest';

import { HispError } from '../../hisp/api/errors.js';
import {
  BerReader,
  contextTag,
  decodeOid,
  decodeSmallInteger,
  minimalIntegerOctets,
  UNIVERSAL,
} from '../../hisp/asn1/ber.js';
import type { Tlv } from '../../hisp/asn1/ber.js';
import {
  compareBytes,
  concat,
  contextIdentifier,
  encodeIdentifier,
  encodeLength,
  integer,
  nullValue,
  octetString,
  oid,
  piecesSource,
  sequence,
  setOf,
  tlv,
  tlvSource,
} from '../../hisp/asn1/der.js';
import { AGENT_LIMITS } from '../../hisp/agent/limits.js';
import { bytesOf, collect } from '../../hisp/agent/types.js';
import { thrownHispError as hispError } from '../services/hispErrors.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array =>
  Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/** Reads every element of a tree (forces full validation). */
function walk(reader: BerReader, node: Tlv): number {
  let count = 1;
  if (node.constructed) for (const child of reader.children(node)) count += walk(reader, child);
  return count;
}

describe('DER writer', () => {
  it('encodes lengths in short and minimal long form', () => {
    expect(hex(encodeLength(0))).toBe('00');
    expect(hex(encodeLength(127))).toBe('7f');
    expect(hex(encodeLength(128))).toBe('8180');
    expect(hex(encodeLength(255))).toBe('81ff');
    expect(hex(encodeLength(256))).toBe('820100');
    expect(hex(encodeLength(65_535))).toBe('82ffff');
    expect(hex(encodeLength(0x1000000))).toBe('8401000000');
    expect(hex(encodeLength(2 ** 32))).toBe('850100000000');
    expect(() => encodeLength(-1)).toThrow(RangeError);
    expect(() => encodeLength(1.5)).toThrow(RangeError);
  });

  it('encodes INTEGERs in minimal two’s complement', () => {
    const cases: Array<[number | bigint, string]> = [
      [0, '020100'],
      [1, '020101'],
      [127, '02017f'],
      [128, '02020080'],
      [256, '02020100'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [2n ** 64n, '0209010000000000000000'],
    ];
    for (const [value, expected] of cases)
      expect(hex(integer(value)), String(value)).toBe(expected);
  });

  it('encodes OBJECT IDENTIFIERs (X.690 examples) and refuses bad ones', () => {
    expect(hex(oid('1.2.840.113549'))).toBe('06062a864886f70d');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    expect(hex(oid('2.16.840.1.101.3.4.1.42'))).toBe('060960864801650304012a');
    expect(() => oid('3.1')).toThrow(RangeError);
    expect(() => oid('1.40')).toThrow(RangeError);
    expect(() => oid('1')).toThrow(RangeError);
    expect(() => oid('1.2.x')).toThrow(RangeError);
  });

  it('encodes identifiers, including high tag numbers', () => {
    expect(hex(contextIdentifier(0, true))).toBe('a0');
    expect(hex(contextIdentifier(3, false))).toBe('83');
    expect(hex(encodeIdentifier(2, true, 31))).toBe('bf1f');
    expect(hex(encodeIdentifier(1, false, 201))).toBe('5f8149');
  });

  it('builds small structures and sorts SET OF by encoding', () => {
    expect(hex(sequence(integer(1), nullValue(), octetString(fromHex('abcd'))))).toBe(
      '3009020101050004' + '02abcd',
    );
    const set = setOf(octetString(fromHex('02')), integer(5), octetString(fromHex('01')));
    expect(hex(set)).toBe('3109' + '020105' + '040101' + '040102');
    expect(compareBytes(fromHex('01'), fromHex('0100'))).toBeLessThan(0);
    expect(compareBytes(fromHex('02'), fromHex('0100'))).toBeGreaterThan(0);
  });

  it('streams big content behind a header computed from the declared length', () => {
    const content = bytesOf(new Uint8Array(200).fill(7), new Uint8Array(100).fill(9));
    const source = tlvSource(0x04, content);
    expect(source.length).toBe(4 + 300);
    const chunks = [...source.chunks()];
    expect(hex(chunks[0] ?? new Uint8Array())).toBe('0482012c');
    // The content chunks are passed through, not copied.
    expect(chunks[1]?.buffer).toBe([...content.chunks()][0]?.buffer);
    const all = collect(source);
    expect(all.byteLength).toBe(304);
    expect(all[4]).toBe(7);
    expect(all[303]).toBe(9);
    // Equivalent to the copying builder.
    expect(hex(all)).toBe(hex(tlv(0x04, collect(content))));
  });

  it('refuses a source that produces another length than it declared', () => {
    const liar = { length: 10, reiterable: true, chunks: () => [new Uint8Array(9)] };
    expect(() => collect(piecesSource(fromHex('0409'), liar))).toThrow(/declared 10/);
  });
});

describe('BER reader', () => {
  it('reads definite-length DER and keeps original bytes', () => {
    const der = sequence(integer(3), octetString(fromHex('0102')), tlv(0xa1, nullValue()));
    const reader = new BerReader(der, { der: true });
    const root = reader.root();
    expect(root).toMatchObject({ tagClass: 0, tagNumber: 16, constructed: true, depth: 1 });
    const fields = reader.fields(root, 'Test');
    expect(reader.smallInteger(fields.next(UNIVERSAL.INTEGER))).toBe(3);
    const str = fields.next(UNIVERSAL.OCTET_STRING);
    expect(hex(reader.content(str))).toBe('0102');
    expect(reader.content(str).buffer).toBe(der.buffer); // zero-copy
    expect(fields.optional(contextTag(0))).toBeUndefined();
    const tagged = fields.optional(contextTag(1, true));
    expect(tagged && hex(reader.raw(tagged))).toBe('a1020500');
    fields.end();
    expect(hex(reader.raw(root))).toBe(hex(der));
  });

  it('reads indefinite lengths and constructed strings with nested segments', () => {
    // SEQUENCE (indef) { [0] constructed (indef) { OCTET STRING 'aa', OCTET STRING (constructed,
    //   definite) { 'bb', 'cc dd' }, OCTET STRING (constructed, indef) { 'ee' } }, INTEGER 5 }
    const ber = fromHex(
      '3080' +
        'a080' +
        '0401aa' +
        '2407' +
        '0401bb' +
        '0402ccdd' +
        '2480' +
        '0401ee' +
        '0000' +
        '0000' +
        '020105' +
        '0000',
    );
    const reader = new BerReader(ber);
    const root = reader.root();
    expect(root.indefinite).toBe(true);
    expect(root.end).toBe(ber.byteLength);
    const [content, five] = [...reader.children(root)];
    if (!content || !five) throw new Error('children missing');
    expect(reader.smallInteger(five)).toBe(5);
    const segments = [...reader.stringSegments(content)];
    expect(segments.map(hex)).toEqual(['aa', 'bb', 'ccdd', 'ee']);
    for (const segment of segments) expect(segment.buffer).toBe(ber.buffer);
    expect(reader.stringLength(content)).toBe(5);
    expect(hex(reader.stringBytes(content, 5))).toBe('aabbccddee');
    expect(hispError(() => reader.stringBytes(content, 4)).code).toBe('CMS_MALFORMED');
    expect(walk(reader, root)).toBe(9);
  });

  it('brings a BER element to its definite-length DER form (toDefinite)', () => {
    // SEQUENCE (indef) { SET (indef) { SEQUENCE (indef) { OID, PrintableString (constructed) 'ab' 'c' } } }
    const name = sequence(setOf(sequence(oid('2.5.4.3'), tlv(0x13, Buffer.from('abc')))));
    const segmented = concat(
      fromHex('3080' + '3180' + '3080'),
      oid('2.5.4.3'),
      fromHex('3380'),
      tlv(0x13, Buffer.from('ab')),
      tlv(0x13, Buffer.from('c')),
      fromHex('0000' + '0000' + '0000' + '0000'),
    );
    const reader = new BerReader(segmented);
    expect(hex(reader.toDefinite(reader.root()))).toBe(hex(name));
    const derReader = new BerReader(name);
    expect(hex(derReader.toDefinite(derReader.root()))).toBe(hex(name));
  });

  it('reads high tag numbers', () => {
    const reader = new BerReader(fromHex('bf812a03' + '020101'));
    expect(reader.root()).toMatchObject({ tagClass: 2, tagNumber: 170, constructed: true });
  });

  it('decodes OIDs, small integers and minimal serial octets', () => {
    for (const text of [
      '1.2.840.113549.1.7.3',
      '2.999.3',
      '2.16.840.1.101.3.4.2.1',
      '0.0',
      '2.25.329800735698586629295641978511506172918',
    ]) {
      expect(decodeOid(oid(text).subarray(2))).toBe(text);
    }
    expect(decodeOid(fromHex(''))).toBeUndefined();
    expect(decodeOid(fromHex('2a86'))).toBeUndefined(); // unterminated
    expect(decodeOid(fromHex('2a8001'))).toBeUndefined(); // non-minimal
    expect(decodeSmallInteger(fromHex('00ff'))).toBe(255);
    expect(decodeSmallInteger(fromHex('ff7f'))).toBe(-129);
    expect(decodeSmallInteger(fromHex('0102030405060708'))).toBeUndefined();
    expect(hex(minimalIntegerOctets(fromHex('000080')))).toBe('0080');
    expect(hex(minimalIntegerOctets(fromHex('00007f')))).toBe('7f');
    expect(hex(minimalIntegerOctets(fromHex('ffff80')))).toBe('80');
    expect(hex(minimalIntegerOctets(fromHex('00')))).toBe('00');
  });

  it('in DER mode refuses indefinite lengths, non-minimal lengths and constructed strings', () => {
    expect(hispError(() => new BerReader(fromHex('30800000'), { der: true }).root()).code).toBe(
      'CMS_MALFORMED',
    );
    expect(hispError(() => new BerReader(fromHex('308100'), { der: true }).root()).message).toMatch(
      /non-minimal/,
    );
    const constructed = new BerReader(fromHex('24030401aa'), { der: true });
    expect(hispError(() => [...constructed.stringSegments(constructed.root())]).code).toBe(
      'CMS_MALFORMED',
    );
    // The same input is fine as BER.
    expect(new BerReader(fromHex('308100')).root().contentLength).toBe(0);
  });

  it('uses the malformed code it is given (certificates → CERT_MALFORMED)', () => {
    const error = hispError(() =>
      new BerReader(fromHex('3005'), {
        malformedCode: 'CERT_MALFORMED',
        what: 'certificate',
      }).root(),
    );
    expect(error.code).toBe('CERT_MALFORMED');
    expect(error.message).toMatch(/^certificate malformed/);
  });

  describe('risk-16: hostile input is a typed error, never a crash or a huge allocation', () => {
    const malformed: Array<[string, string]> = [
      ['empty input', ''],
      ['tag only', '30'],
      ['truncated content', '3005020101'],
      ['length 0x7fffffff', '30847fffffff020101'],
      ['length 2^64-1 in 8 octets', '3088ffffffffffffffff'],
      ['9 length octets', '3089010000000000000000'],
      ['reserved length octet 0xff', '30ff'],
      ['truncated long length', '3084ffff'],
      ['indefinite length on a primitive', '04800000'],
      ['missing end-of-contents', '3080020101'],
      ['end-of-contents inside a definite length', '30020000'],
      ['child running past its parent', '3003020501'],
      ['trailing bytes', '300000'],
      ['unterminated high tag', '1f'],
      ['huge high tag', '1fffffffff7f00'],
      ['non-minimal high tag', '1f800100'],
      ['indefinite child past the parent', '30033080000000'],
    ];
    for (const [name, input] of malformed) {
      it(`risk-16: ${name} → CMS_MALFORMED`, () => {
        const reader = new BerReader(fromHex(input));
        const error = hispError(() => walk(reader, reader.root()));
        expect(error.code).toBe('CMS_MALFORMED');
        expect(error.message).not.toMatch(/[0-9a-f]{16}/); // no content octets in messages
      });
    }

    it('risk-16: nesting beyond asn1Depth → LIMIT_EXCEEDED (indefinite and definite)', () => {
      const depth = AGENT_LIMITS.asn1Depth;
      const indefinite = (n: number): Uint8Array =>
        fromHex('3080'.repeat(n) + '0500' + '0000'.repeat(n));
      let definite: Uint8Array = nullValue();
      for (let i = 0; i < depth + 1; i++) definite = sequence(definite);
      // At the limit: fine.
      const ok = new BerReader(indefinite(depth - 1));
      expect(walk(ok, ok.root())).toBe(depth);
      // Beyond it: refused while measuring, before anything else.
      expect(hispError(() => new BerReader(indefinite(depth + 1)).root()).code).toBe(
        'LIMIT_EXCEEDED',
      );
      const deep = new BerReader(definite);
      expect(hispError(() => walk(deep, deep.root())).code).toBe('LIMIT_EXCEEDED');
      // 100 000 levels: no stack overflow, same typed error.
      expect(hispError(() => new BerReader(indefinite(100_000)).root()).code).toBe(
        'LIMIT_EXCEEDED',
      );
    });

    it('risk-16: constructed strings nested beyond asn1Depth → LIMIT_EXCEEDED', () => {
      const n = AGENT_LIMITS.asn1Depth + 5;
      const reader = new BerReader(fromHex('2480'.repeat(n) + '0401aa' + '0000'.repeat(n)));
      expect(hispError(() => [...reader.stringSegments(reader.root())]).code).toBe(
        'LIMIT_EXCEEDED',
      );
    });

    it('risk-16: more segments than asn1Segments → LIMIT_EXCEEDED', () => {
      const limit = AGENT_LIMITS.asn1Segments;
      const segments = Buffer.alloc((limit + 1) * 2, 0);
      for (let i = 0; i < segments.length; i += 2) segments[i] = 0x04; // empty OCTET STRINGs
      const input = Buffer.concat([fromHex('2480'), segments, fromHex('0000')]);
      const reader = new BerReader(input);
      const root = reader.root();
      expect(hispError(() => reader.stringLength(root)).code).toBe('LIMIT_EXCEEDED');
      // Exactly at the limit is fine.
      const atLimit = new BerReader(
        Buffer.concat([fromHex('2480'), segments.subarray(2), fromHex('0000')]),
      );
      expect(atLimit.stringLength(atLimit.root())).toBe(0);
    });

    it('risk-16: a segment of the wrong type inside a constructed string → CMS_MALFORMED', () => {
      const reader = new BerReader(fromHex('2480' + '020101' + '0000'));
      expect(hispError(() => [...reader.stringSegments(reader.root())]).code).toBe('CMS_MALFORMED');
    });

    it('risk-16: input larger than cmsBytes → LIMIT_EXCEEDED without reading it', () => {
      const big = new Uint8Array(new ArrayBuffer(AGENT_LIMITS.cmsBytes + 1));
      expect(hispError(() => new BerReader(big)).code).toBe('LIMIT_EXCEEDED');
      expect(hispError(() => new BerReader(new Uint8Array(11), { maxBytes: 10 })).code).toBe(
        'LIMIT_EXCEEDED',
      );
    });

    it('risk-16: a wide tree of nested indefinite lengths reads completely', () => {
      // 20 levels deep, 2 000 leaves at the bottom (ends are memoised per element).
      const leaves = '0500'.repeat(2000);
      const input = fromHex('3080'.repeat(20) + leaves + '0000'.repeat(20));
      const reader = new BerReader(input);
      const root = reader.root();
      expect(walk(reader, root)).toBe(20 + 2000);
    });

    it('risk-16: random garbage is always a typed error or a valid parse', () => {
      let seed = 0x5eed;
      const next = (): number => {
        seed = (seed * 1_103_515_245 + 12_345) >>> 0;
        return seed >>> 16;
      };
      for (let round = 0; round < 2000; round++) {
        const input = new Uint8Array(1 + (next() % 64)).map(() => next() & 0xff);
        if (round % 3 === 0) input[0] = 0x30;
        if (round % 5 === 0 && input.length > 1) input[1] = 0x80;
        const reader = new BerReader(input);
        try {
          walk(reader, reader.root());
        } catch (error) {
          expect(error).toBeInstanceOf(HispError);
          expect(['CMS_MALFORMED', 'LIMIT_EXCEEDED']).toContain((error as HispError).code);
        }
      }
    });
  });
});
