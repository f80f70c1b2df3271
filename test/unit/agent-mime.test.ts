/**
 * The security agent's MIME layer: byte-exact parsing (RFC 5322 / 2045 / 2046), transfer
 * decoding, address lists, and the outbound encoders. Hostile inputs carry risk-16 (parsers
 * bounded): each is a typed HispError or a documented tolerant result, never a crash.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

import { AGENT_LIMITS } from '../../hisp/agent/limits.js';
import {
  base64Lines,
  base64LinesLength,
  decodeBase64Strict,
  decodeBody,
  decodeEncodedWords,
  decodeQuotedPrintable,
  encodeHeaderWord,
  foldHeader,
  headerValue,
  headerValues,
  normalizeAddress,
  parseAddressList,
  parseEmbeddedMessage,
  parseMime,
  toCrlf,
  type MimeEntity,
} from '../../hisp/agent/mime/index.js';
import { bytesOf, collect, type ByteSource } from '../../hisp/agent/types.js';
import { thrownCode as codeOf } from '../services/hispErrors.js';

const interop = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'interop');

const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');

function child(entity: MimeEntity, ...path: number[]): MimeEntity {
  let current = entity;
  for (const index of path) {
    const next = current.children[index];
    if (next === undefined) throw new Error(`no child ${index}`);
    current = next;
  }
  return current;
}

/** Where `needle` sits in `haystack`, asserting it is there exactly once. */
function slice(haystack: Buffer, needle: string): Buffer {
  const at = haystack.indexOf(needle);
  expect(at).toBeGreaterThanOrEqual(0);
  expect(haystack.indexOf(needle, at + 1)).toBe(-1);
  return haystack.subarray(at, at + Buffer.byteLength(needle));
}

function sameView(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

const PNG = randomBytes(300);

const MIXED = crlf(
  'From: "Dr. Alice Example" <alice@direct.example.org>',
  'To: bob@direct.example.com',
  'Subject: Referral',
  '  with a folded subject',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed;',
  '\tboundary="----=_Part_0_12345.678"',
  '',
  'This is a multi-part message in MIME format.',
  '------=_Part_0_12345.678',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Hello Bob,=20',
  'the patient=E2=80=99s summary is attached. This line is soft-=',
  'broken.',
  '',
  '------=_Part_0_12345.678',
  'Content-Type: image/png; name="scan.png"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="scan.png"',
  '',
  ...(PNG.toString('base64').match(/.{1,76}/g) ?? []),
  '------=_Part_0_12345.678--',
  'epilogue text',
  '',
);

describe('parseMime: realistic messages, byte-exact', () => {
  it('multipart/mixed with a text part and an attachment', () => {
    const message = parseMime(MIXED);
    expect(message.raw).toBe(message.raw);
    expect(sameView(message.raw, MIXED)).toBe(true);
    expect(message.contentType.mediaType).toBe('multipart/mixed');
    expect(message.contentType.params['boundary']).toBe('----=_Part_0_12345.678');
    expect(headerValue(message, 'SUBJECT')).toBe('Referral  with a folded subject');
    expect(message.headers.map((h) => h.name)).toEqual([
      'From',
      'To',
      'Subject',
      'MIME-Version',
      'Content-Type',
    ]);
    expect(message.children).toHaveLength(2);
    expect(message.preamble?.toString()).toBe('This is a multi-part message in MIME format.');
    expect(message.epilogue?.toString()).toBe('epilogue text\r\n');
    expect(message.missingCloseDelimiter).toBe(false);

    const text = child(message, 0);
    expect(text.raw.toString()).toBe(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
        'Hello Bob,=20\r\nthe patient=E2=80=99s summary is attached. This line is soft-=\r\nbroken.\r\n',
    );
    expect(decodeBody(text).toString('utf8')).toBe(
      'Hello Bob, \r\nthe patient\u2019s summary is attached. This line is soft-broken.\r\n',
    );
    const attachment = child(message, 1);
    expect(attachment.contentType.params['name']).toBe('scan.png');
    expect(headerValue(attachment, 'content-disposition')).toBe('attachment; filename="scan.png"');
    expect(decodeBody(attachment).equals(PNG)).toBe(true);
    // Views into the input, not copies.
    expect(attachment.raw.buffer).toBe(MIXED.buffer);
    expect(
      Buffer.concat([attachment.headerBytes, attachment.separator, attachment.body]).equals(
        attachment.raw,
      ),
    ).toBe(true);
  });

  it('multipart/signed: the signed part is exactly the bytes between the boundary line and the CRLF before the next', () => {
    const signedPart =
      'Content-Type: message/rfc822\r\n\r\n' +
      'From: alice@direct.example.org\r\nTo: bob@direct.example.com\r\nSubject: Hi\r\n\r\n' +
      'Body line 1\r\nBody line 2 ends with spaces   \r\n\r\n';
    const message = Buffer.from(
      'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n' +
        ' boundary="sig-boundary"\r\n\r\n' +
        'This is an S/MIME signed message\r\n\r\n' +
        '--sig-boundary\r\n' +
        signedPart +
        '\r\n--sig-boundary\r\n' +
        'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n' +
        'Content-Transfer-Encoding: base64\r\n\r\n' +
        'MIIBAgEB\r\nAQEB\r\n' +
        '\r\n--sig-boundary--\r\n',
    );
    const parsed = parseMime(message);
    expect(parsed.contentType.params['micalg']).toBe('sha-256');
    const [content, signature] = parsed.children;
    expect(content?.raw.toString('latin1')).toBe(signedPart);
    expect(content?.raw.equals(slice(message, signedPart))).toBe(true);
    expect(decodeBody(signature ?? parsed).toString('hex')).toBe('308201020101010101');
    expect(parsed.preamble?.toString()).toBe('This is an S/MIME signed message\r\n');
    expect(parsed.epilogue?.length).toBe(0);

    const inner = parseEmbeddedMessage(content ?? parsed);
    expect(inner.depth).toBe(2);
    expect(headerValue(inner, 'subject')).toBe('Hi');
    expect(inner.body.toString()).toBe('Body line 1\r\nBody line 2 ends with spaces   \r\n\r\n');
  });

  it('nested message/rfc822 inside multipart/mixed inside multipart/alternative', () => {
    const data = crlf(
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'plain',
      '--inner',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--inner--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'From: carol@example.net',
      'Content-Type: multipart/mixed; boundary=deep',
      '',
      '--deep',
      '',
      'no headers: text/plain by default',
      '--deep--',
      '--outer--',
    );
    const message = parseMime(data);
    expect(child(message, 0).contentType.mediaType).toBe('multipart/alternative');
    expect(child(message, 0, 1).body.toString()).toBe('<p>html</p>');
    expect(child(message, 0).epilogue?.length).toBe(0);
    const rfc822 = child(message, 1);
    expect(rfc822.children).toHaveLength(0); // not parsed automatically
    const embedded = parseEmbeddedMessage(rfc822);
    expect(headerValue(embedded, 'from')).toBe('carol@example.net');
    const deep = child(embedded, 0);
    expect(deep.headers).toHaveLength(0);
    expect(deep.contentType).toMatchObject({ mediaType: 'text/plain', explicit: false });
    expect(deep.body.toString()).toBe('no headers: text/plain by default');
    expect(deep.depth).toBe(3);
  });

  it('LF-only input parses the same way and keeps its bytes (no CRLF inserted)', () => {
    const text = MIXED.toString('latin1').replace(/\r\n/g, '\n');
    const data = Buffer.from(text, 'latin1');
    const message = parseMime(data);
    expect(message.children).toHaveLength(2);
    expect(message.raw.includes('\r')).toBe(false);
    expect(child(message, 0).raw.toString()).toBe(
      'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n' +
        'Hello Bob,=20\nthe patient=E2=80=99s summary is attached. This line is soft-=\nbroken.\n',
    );
    expect(decodeBody(child(message, 1)).equals(PNG)).toBe(true);
    expect(child(message, 0).separator.toString()).toBe('\n');
    expect(message.epilogue?.toString()).toBe('epilogue text\n');
  });

  it('mixed CRLF and LF line endings in one message', () => {
    const data = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\n\r\n--b\r\n\nA\n--b\r\n\r\nB\r\n--b--\n',
    );
    const message = parseMime(data);
    expect(message.children.map((c) => c.raw.toString())).toEqual(['\nA', '\r\nB']);
    expect(message.separator.toString()).toBe('\r\n');
  });
});

describe('parseMime: RFC 2046 boundary edge cases', () => {
  const multipart = (body: string, boundary = 'b'): MimeEntity =>
    parseMime(Buffer.from(`Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${body}`));

  it('the boundary inside a line (no CRLF before "--") is content', () => {
    const m = multipart('--b\r\n\r\ntext --b more text\r\nand x--b\r\n--b--\r\n');
    expect(m.children).toHaveLength(1);
    expect(child(m, 0).body.toString()).toBe('text --b more text\r\nand x--b');
  });

  it('a line that starts with "--boundary" and goes on is content, not a delimiter', () => {
    const m = multipart('--b\r\n\r\n--bx is not mine\r\n--b-- no, nor this\r\n--b--\r\n');
    expect(m.children).toHaveLength(1);
    expect(child(m, 0).body.toString()).toBe('--bx is not mine\r\n--b-- no, nor this');
  });

  it('transport padding (spaces, tabs) after a delimiter or close delimiter is allowed', () => {
    const m = multipart('--b \t \r\n\r\none\r\n--b\t\r\n\r\ntwo\r\n--b--   \r\nafter');
    expect(m.children.map((c) => c.body.toString())).toEqual(['one', 'two']);
    expect(m.epilogue?.toString()).toBe('after');
  });

  it('keeps preamble and epilogue, and the CRLF before a delimiter belongs to it', () => {
    const m = multipart(
      'preamble line 1\r\npreamble line 2\r\n--b\r\n\r\nbody with trailing blank line\r\n\r\n--b--\r\nepi 1\r\nepi 2',
    );
    expect(m.preamble?.toString()).toBe('preamble line 1\r\npreamble line 2');
    expect(child(m, 0).body.toString()).toBe('body with trailing blank line\r\n');
    expect(m.epilogue?.toString()).toBe('epi 1\r\nepi 2');
  });

  it('a body that starts with the delimiter has an empty preamble', () => {
    const m = multipart('--b\r\n\r\nx\r\n--b--');
    expect(m.preamble?.length).toBe(0);
    expect(m.epilogue?.length).toBe(0);
  });

  it('tolerates a missing close delimiter and says so', () => {
    const m = multipart('--b\r\n\r\none\r\n--b\r\n\r\ntwo, never closed\r\n');
    expect(m.missingCloseDelimiter).toBe(true);
    expect(m.children.map((c) => c.body.toString())).toEqual(['one', 'two, never closed\r\n']);
  });

  it('an empty part, an empty multipart, and a delimiter right after another', () => {
    expect(multipart('--b\r\n\r\n--b--').children.map((c) => c.raw.length)).toEqual([0]);
    expect(multipart('--b--\r\n').children).toHaveLength(0);
    const m = multipart('--b\r\n--b\r\n\r\nx\r\n--b--');
    expect(m.children.map((c) => c.raw.toString())).toEqual(['', '\r\nx']);
  });

  it('boundaries with RFC 2046 specials and spaces, quoted', () => {
    const boundary = "simple boundary'()+_,-./:=?";
    const m = multipart(`--${boundary}\r\n\r\nx\r\n--${boundary}--\r\n`, boundary);
    expect(child(m, 0).body.toString()).toBe('x');
  });

  it('a part whose headers run into the next delimiter has an empty body', () => {
    const m = multipart('--b\r\nContent-Type: text/html\r\n--b--');
    expect(child(m, 0).contentType.mediaType).toBe('text/html');
    expect(child(m, 0).body.length).toBe(0);
    expect(child(m, 0).separator.length).toBe(0);
  });

  it('multipart/digest parts default to message/rfc822', () => {
    const m = parseMime(
      crlf(
        'Content-Type: multipart/digest; boundary=d',
        '',
        '--d',
        '',
        'From: a@b.example',
        '',
        'hi',
        '--d--',
      ),
    );
    expect(child(m, 0).contentType.mediaType).toBe('message/rfc822');
    expect(headerValue(parseEmbeddedMessage(child(m, 0)), 'from')).toBe('a@b.example');
  });

  it('refuses: a boundary that never appears, no boundary, a base64 multipart, two boundaries', () => {
    expect(codeOf(() => multipart('no delimiter at all\r\n'))).toBe('MIME_MALFORMED');
    expect(
      codeOf(() => parseMime(crlf('Content-Type: multipart/mixed', '', '--b', '', 'x', '--b--'))),
    ).toBe('MIME_MALFORMED');
    expect(
      codeOf(() =>
        parseMime(
          crlf(
            'Content-Type: multipart/mixed; boundary=b',
            'Content-Transfer-Encoding: base64',
            '',
            '--b--',
          ),
        ),
      ),
    ).toBe('MIME_MALFORMED');
    expect(
      codeOf(() =>
        parseMime(crlf('Content-Type: multipart/mixed; boundary=a; boundary=b', '', '--a--')),
      ),
    ).toBe('MIME_MALFORMED');
    expect(
      codeOf(() => parseMime(crlf('Content-Type: multipart/mixed; boundary=""', '', '----'))),
    ).toBe('MIME_MALFORMED');
  });
});

describe('parseMime: header fields and Content-Type', () => {
  it("unfolds values, keeps name case, finds names case-insensitively, keeps each field's raw bytes", () => {
    const data = crlf(
      'X-Trace: one',
      'x-trace: two',
      'Subject: a',
      '\tb',
      '  c',
      'Received : from x',
      '',
      'body',
    );
    const m = parseMime(data);
    expect(headerValue(m, 'X-TRACE')).toBe('one');
    expect(headerValues(m, 'x-trace')).toEqual(['one', 'two']);
    expect(headerValue(m, 'subject')).toBe('a\tb  c');
    expect(m.headers[2]?.raw.toString()).toBe('Subject: a\r\n\tb\r\n  c\r\n');
    expect(m.headers[3]?.name).toBe('Received');
    expect(headerValue(m, 'missing')).toBeUndefined();
    expect(Buffer.concat(m.headers.map((h) => h.raw)).equals(m.headerBytes)).toBe(true);
  });

  it('decodes UTF-8 header values (RFC 6532) and falls back to Latin-1', () => {
    expect(headerValue(parseMime(Buffer.from('Subject: Grüße\r\n\r\n')), 'subject')).toBe('Grüße');
    expect(
      headerValue(
        parseMime(Buffer.from([...Buffer.from('Subject: Gr'), 0xfc, 0x0d, 0x0a, 0x0d, 0x0a])),
        'subject',
      ),
    ).toBe('Grü');
  });

  it('a message of headers only (no blank line) has an empty body', () => {
    const m = parseMime(Buffer.from('From: a@b.example\r\nSubject: x'));
    expect(headerValue(m, 'subject')).toBe('x');
    expect(m.body.length).toBe(0);
    expect(m.separator.length).toBe(0);
  });

  it('skips whitespace before the first field (as in java-ri EncryptedMessage.txt)', () => {
    const m = parseMime(Buffer.from(' Received: from x\r\n    by y\r\nSubject: s\r\n\r\nbody'));
    expect(m.headers.map((h) => h.name)).toEqual(['Received', 'Subject']);
    expect(m.raw.toString().startsWith(' Received')).toBe(true);
  });

  it('refuses a non-field line, a continuation first, NUL in a header, a bad field name', () => {
    expect(codeOf(() => parseMime(crlf('Subject: ok', 'this is not a header', '', 'body')))).toBe(
      'MIME_MALFORMED',
    );
    expect(codeOf(() => parseMime(crlf('From foo@bar Mon Jan 1', 'Subject: mbox', '', '')))).toBe(
      'MIME_MALFORMED',
    );
    expect(codeOf(() => parseMime(crlf(' ', 'Subject: x', '', '')))).toBe('MIME_MALFORMED');
    expect(codeOf(() => parseMime(Buffer.from('Subject: a\0b\r\n\r\n')))).toBe('MIME_MALFORMED');
    expect(codeOf(() => parseMime(crlf('Bad Name: x', '', '')))).toBe('MIME_MALFORMED');
    expect(
      codeOf(() => parseMime(crlf('Content-Type: text/plain', 'Content-Type: text/html', '', ''))),
    ).toBe('MIME_MALFORMED');
    expect(
      codeOf(() =>
        parseMime(
          crlf('Content-Transfer-Encoding: base64', 'Content-Transfer-Encoding: 7bit', '', ''),
        ),
      ),
    ).toBe('MIME_MALFORMED');
  });

  it('parses Content-Type parameters: case, quotes, escapes, comments, RFC 2231', () => {
    const ct = (value: string) =>
      parseMime(Buffer.from(`Content-Type: ${value}\r\n\r\n`)).contentType;
    expect(ct('Application/PKCS7-MIME; SMIME-Type=enveloped-data; Name="smime.p7m"')).toMatchObject(
      {
        type: 'application',
        subtype: 'pkcs7-mime',
        params: { 'smime-type': 'enveloped-data', name: 'smime.p7m' },
        explicit: true,
      },
    );
    expect(ct('text/plain (a comment) ; charset = "us\\"ascii" (another)').params['charset']).toBe(
      'us"ascii',
    );
    expect(ct("application/pdf; filename*=UTF-8''%E2%82%AC%20rates.pdf").params['filename']).toBe(
      '€ rates.pdf',
    );
    expect(
      ct(
        'message/external-body; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"',
      ).params['url'],
    ).toBe('ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar');
    expect(
      ct(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
      ).params['title'],
    ).toBe("This is even more ***fun*** isn't it!");
    expect(ct('text/plain; __proto__=x; constructor=y').params['__proto__']).toBe('x');
    expect(ct('garbage')).toMatchObject({ mediaType: 'text/plain', explicit: false });
    expect(ct('text/; x=y')).toMatchObject({ mediaType: 'text/plain', explicit: false });
    expect(parseMime(Buffer.from('Subject: none\r\n\r\n')).contentType).toMatchObject({
      mediaType: 'text/plain',
      params: { charset: 'us-ascii' },
      explicit: false,
    });
  });

  it('decodes RFC 2047 encoded-words for display', () => {
    expect(decodeEncodedWords('=?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?_und_Tsch=FC=DF?=')).toBe(
      'Grüße und Tschüß',
    );
    expect(decodeEncodedWords('plain =?bogus?X?abc?= text')).toBe('plain =?bogus?X?abc?= text');
  });
});

describe('decodeBody', () => {
  const entity = (transferEncoding: string, body: string | Buffer) => ({
    transferEncoding,
    body: typeof body === 'string' ? Buffer.from(body, 'latin1') : body,
  });

  it('7bit, 8bit and binary return the body itself (no copy), NUL and 8-bit bytes included', () => {
    const body = Buffer.from([0x41, 0, 0xff, 0x0a]);
    for (const cte of ['7bit', '8bit', 'binary']) expect(decodeBody(entity(cte, body))).toBe(body);
  });

  it('base64 tolerates whitespace and line breaks anywhere and missing padding', () => {
    for (let n = 0; n < 70; n++) {
      const data = randomBytes(n);
      const b64 = data.toString('base64');
      const messy = b64.replace(
        /(.{1,7})/g,
        (m) => `${m}${['\r\n', '\n', ' ', '\t', ''][m.length % 5] ?? ''}`,
      );
      expect(decodeBase64Strict(Buffer.from(messy)).equals(data), `n=${n}`).toBe(true);
      expect(decodeBase64Strict(Buffer.from(b64.replace(/=+$/, ''))).equals(data)).toBe(true);
    }
  });

  it('base64 refuses characters outside the alphabet, misplaced padding, data after padding, a dangling character', () => {
    for (const bad of [
      'QUJD!',
      'QU-J',
      'QUJD\0',
      'Q===',
      '=QUJD',
      'QQ==QUJD',
      'QUJDR',
      'QUJD\u00e9',
      'QQ=',
    ]) {
      expect(
        codeOf(() => decodeBody(entity('base64', Buffer.from(bad, 'latin1')))),
        bad,
      ).toBe('MIME_MALFORMED');
    }
  });

  it('base64 of regular lines (the fast path) agrees with an independent decoder under single-byte damage', () => {
    // The oracle: whitespace removed, the alphabet with at most two "=" at the end, no
    // dangling character, padding only where it completes a quantum.
    const oracle = (text: Buffer): Buffer | 'MIME_MALFORMED' => {
      const m = /^([A-Za-z0-9+/]*)(={0,2})$/.exec(
        text.toString('latin1').replace(/[ \t\r\n]/g, ''),
      );
      const data = m?.[1] ?? '';
      const pads = m?.[2]?.length ?? 0;
      if (!m || data.length % 4 === 1 || (pads > 0 && (data.length % 4) + pads !== 4))
        return 'MIME_MALFORMED';
      return Buffer.from(data, 'base64');
    };
    const outcome = (run: () => Buffer): Buffer | string => {
      try {
        return run();
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    };
    const damage = [0x2d, 0x5f, 0x3d, 0x20, 0x09, 0x0d, 0x0a, 0x2a, 0x00, 0xff, 0x41];
    let checked = 0;
    for (const [width, eol] of [
      [76, '\r\n'],
      [64, '\n'],
      [4, '\r\n'],
    ] as const) {
      const raw = randomBytes(150_000 + width);
      const text = Buffer.from(
        (raw.toString('base64').match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol) + eol,
        'latin1',
      );
      expect(decodeBase64Strict(Buffer.from(text)).equals(raw)).toBe(true);
      for (let i = 0; i < 60; i++) {
        const bad = Buffer.from(text);
        const at = (i * 7919 * width) % bad.length;
        bad[at] = damage[i % damage.length] ?? 0x2a;
        const expected = oracle(bad);
        for (const inPlace of [false, true]) {
          const got = outcome(() => decodeBase64Strict(Buffer.from(bad), inPlace));
          if (typeof expected === 'string') expect(got, `${width} ${at} ${bad[at]}`).toBe(expected);
          else expect(Buffer.isBuffer(got) && got.equals(expected), `${width} ${at}`).toBe(true);
          checked++;
        }
      }
      // A line break removed, one added, one line shorter: irregular layouts that stay valid.
      for (const edit of [
        (t: string) => t.replace(eol, ''),
        (t: string) => `${t.slice(0, 8)}${eol}${t.slice(8)}`,
        (t: string) => t.slice(0, width * 40) + eol + t.slice(width * 40),
      ]) {
        const irregular = Buffer.from(edit(text.toString('latin1')), 'latin1');
        expect(oracle(irregular)).toEqual(raw);
        expect(decodeBase64Strict(Buffer.from(irregular)).equals(raw)).toBe(true);
        expect(decodeBase64Strict(Buffer.from(irregular), true).equals(raw)).toBe(true);
      }
    }
    expect(checked).toBe(360);
  });

  it('quoted-printable: hex escapes, soft breaks, trailing whitespace, stray "="', () => {
    const qp = 'caf=C3=A9 =3D ok=\r\ncontinued   \r\nnext\t\nsoft with space=  \nend=4\nlast=';
    expect(decodeQuotedPrintable(Buffer.from(qp)).toString('utf8')).toBe(
      'café = okcontinued\r\nnext\nsoft with spaceend=4\nlast',
    );
    expect(decodeBody(entity('Quoted-Printable'.toLowerCase(), '=c3=a9')).toString()).toBe('é');
  });

  it('an unknown transfer encoding is MIME_MALFORMED; the header value is case-insensitive', () => {
    expect(codeOf(() => decodeBody(entity('x-uuencode', 'begin 644')))).toBe('MIME_MALFORMED');
    const m = parseMime(crlf('Content-Transfer-Encoding: BASE64 (comment)', '', 'aGk='));
    expect(m.transferEncoding).toBe('base64');
    expect(decodeBody(m).toString()).toBe('hi');
  });
});

describe('parseAddressList', () => {
  const cases: [string, string, { address: string; name?: string; group?: string }[]][] = [
    [
      'bare address, domain lowercased, local part kept',
      'Bob.Smith@Direct.Example.COM',
      [{ address: 'Bob.Smith@direct.example.com' }],
    ],
    [
      'display name and angle address',
      'Bob Smith <bob@example.com>',
      [{ address: 'bob@example.com', name: 'Bob Smith' }],
    ],
    [
      'quoted display name with comma and escapes',
      '"Smith, Bob \\"MD\\"" <bob@example.com>',
      [{ address: 'bob@example.com', name: 'Smith, Bob "MD"' }],
    ],
    [
      'list with comments everywhere',
      '(lead) alice@a.example (Alice A) , <carol@c.example> (Carol)',
      [
        { address: 'alice@a.example', name: 'Alice A' },
        { address: 'carol@c.example', name: 'Carol' },
      ],
    ],
    [
      'quoted local part kept as written',
      '"john doe"@Example.com',
      [{ address: '"john doe"@example.com' }],
    ],
    ['undisclosed recipients group', 'undisclosed-recipients:;', []],
    [
      'group with members',
      'Team: a@x.example, "B" <b@y.example>; c@z.example',
      [
        { address: 'a@x.example', group: 'Team' },
        { address: 'b@y.example', name: 'B', group: 'Team' },
        { address: 'c@z.example' },
      ],
    ],
    [
      'obsolete route in an angle address',
      'Joe <@relay1.example,@relay2.example:joe@example.org>',
      [{ address: 'joe@example.org', name: 'Joe' }],
    ],
    [
      'CFWS around dots and @ (obs-local-part / obs-domain)',
      'john . doe @ example . org',
      [{ address: 'john.doe@example.org' }],
    ],
    [
      'empty list elements (obs-addr-list)',
      ', a@x.example,, ,b@y.example,',
      [{ address: 'a@x.example' }, { address: 'b@y.example' }],
    ],
    [
      'unquoted dot in display name (obs-phrase)',
      'John Q. Public <jqp@example.com>',
      [{ address: 'jqp@example.com', name: 'John Q. Public' }],
    ],
    [
      'RFC 2047 display name, adjacent words joined',
      '=?UTF-8?B?SsO8cmdlbg==?= =?UTF-8?Q?_M=C3=BCller?= <jm@example.de>',
      [{ address: 'jm@example.de', name: 'Jürgen Müller' }],
    ],
    [
      'UTF-8 display name (RFC 6532)',
      'José Ñúñez <jose@example.es>',
      [{ address: 'jose@example.es', name: 'José Ñúñez' }],
    ],
    ['domain literal', 'root@[192.0.2.1]', [{ address: 'root@[192.0.2.1]' }]],
    [
      'angle address without display name, nested comment',
      '<ryan@securehealthemail.com> (Ryan (the tester))',
      [{ address: 'ryan@securehealthemail.com', name: 'Ryan (the tester)' }],
    ],
    [
      'folded list with tabs and newlines',
      'a@x.example,\r\n\tb@y.example',
      [{ address: 'a@x.example' }, { address: 'b@y.example' }],
    ],
    [
      'group missing its final semicolon',
      'List: a@x.example',
      [{ address: 'a@x.example', group: 'List' }],
    ],
    [
      'special characters in the local part',
      "o'brien+tag!#$%&*=?^_`{|}~-@example.ie",
      [{ address: "o'brien+tag!#$%&*=?^_`{|}~-@example.ie" }],
    ],
  ];
  for (const [title, value, expected] of cases) {
    it(title, () => {
      expect(parseAddressList(value)).toEqual(expected);
    });
  }

  const bad: [string, string][] = [
    ['no @', 'just-a-name'],
    ['display name without address', 'Bob Smith'],
    ['unclosed angle', 'Bob <bob@example.com'],
    ['unclosed quote', '"Bob <bob@example.com>'],
    ['unclosed comment', 'bob@example.com (oops'],
    ['empty domain', 'bob@'],
    ['empty angle address', '<>'],
    ['nested groups', 'A: B: c@d.example;;'],
    ['two addresses without a comma', 'a@x.example b@y.example'],
    ['trailing dot domain', 'a@example.com.'],
    ['an unquoted name run into the address', 'John Smith@example.com'],
    ['a space inside the domain', 'a@exa mple.com'],
  ];
  for (const [title, value] of bad) {
    it(`refuses ${title} with MIME_MALFORMED`, () => {
      expect(codeOf(() => parseAddressList(value))).toBe('MIME_MALFORMED');
    });
  }

  it('risk-16: is bounded in count, length and comment depth', () => {
    const many = Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`).join(', ');
    expect(codeOf(() => parseAddressList(many))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => parseAddressList(`${'a'.repeat(600)}@example.com`))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => parseAddressList('x'.repeat(70_000)))).toBe('LIMIT_EXCEEDED');
    expect(codeOf(() => parseAddressList(`a@b.example ${'('.repeat(50)}${')'.repeat(50)}`))).toBe(
      'LIMIT_EXCEEDED',
    );
  });

  it('normalizeAddress lowercases everything and drops quotes and brackets that change nothing', () => {
    expect(normalizeAddress('Bob.Smith@Direct.Example.COM')).toBe('bob.smith@direct.example.com');
    expect(normalizeAddress(' <Bob@Example.com> ')).toBe('bob@example.com');
    expect(normalizeAddress('"Bob"@example.com')).toBe('bob@example.com');
    expect(normalizeAddress('"Bob Smith"@example.com')).toBe('"bob smith"@example.com');
  });
});

describe('toCrlf', () => {
  it('returns the same buffer when there is no bare LF', () => {
    const data = Buffer.from('a\r\nb\r\n\rc');
    expect(toCrlf(data)).toBe(data);
    const empty = Buffer.alloc(0);
    expect(toCrlf(empty)).toBe(empty);
  });

  it('turns bare LF into CRLF, leaving CRLF and bare CR alone', () => {
    expect(toCrlf(Buffer.from('\na\nb\r\nc\rd\n\n')).toString()).toBe('\r\na\r\nb\r\nc\rd\r\n\r\n');
    const big = Buffer.from('line\n'.repeat(10_000));
    expect(toCrlf(big).toString()).toBe('line\r\n'.repeat(10_000));
  });
});

/** A source that yields `data` in the given chunk sizes (cycled). */
function chunked(data: Buffer, sizes: readonly number[]): ByteSource {
  return {
    length: data.length,
    reiterable: true,
    *chunks() {
      let pos = 0;
      let i = 0;
      while (pos < data.length) {
        const size = sizes[i++ % sizes.length] ?? 1;
        yield data.subarray(pos, pos + size);
        pos += size;
      }
      yield Buffer.alloc(0);
    },
  };
}

const reference = (data: Buffer, lineLength = 76): string =>
  (data.toString('base64').match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? []).join('\r\n');

describe('base64Lines', () => {
  it('matches Buffer base64 with CRLF breaks for every size 0..200, in any chunking', () => {
    const data = randomBytes(200);
    for (let n = 0; n <= 200; n++) {
      const input = data.subarray(0, n);
      const expected = reference(input);
      for (const sizes of [[n || 1], [1], [2], [1, 2, 4, 5], [7, 3, 0, 11]]) {
        const out = base64Lines(chunked(input, sizes));
        expect(out.length, `n=${n}`).toBe(expected.length);
        expect(collect(out).toString('latin1'), `n=${n} sizes=${sizes.join(',')}`).toBe(expected);
      }
    }
  });

  it('supports other line lengths', () => {
    const data = randomBytes(1000);
    for (const lineLength of [4, 64, 72, 75, 998]) {
      const out = base64Lines(bytesOf(data), lineLength);
      expect(collect(out).toString('latin1')).toBe(reference(data, lineLength));
      expect(out.length).toBe(base64LinesLength(data.length, lineLength));
    }
    expect(() => base64Lines(bytesOf(data), 0)).toThrow(RangeError);
  });

  it('streams 1 MB: exact precomputed length, output in bounded pieces, no whole-input concatenation', () => {
    const data = randomBytes(1024 * 1024);
    const source = chunked(data, [65_537, 3, 1, 100_000]);
    const out = base64Lines(source);
    let total = 0;
    let largest = 0;
    const pieces: Buffer[] = [];
    for (const piece of out.chunks()) {
      total += piece.byteLength;
      largest = Math.max(largest, piece.byteLength);
      pieces.push(Buffer.from(piece));
    }
    expect(total).toBe(out.length);
    expect(largest).toBeLessThanOrEqual(70 * 1024);
    expect(Buffer.concat(pieces).toString('latin1')).toBe(reference(data));
  });

  it('passes reiterable through and notices a source that lies about its length', () => {
    const once: ByteSource = { length: 5, reiterable: false, chunks: () => [Buffer.from('abc')] };
    const out = base64Lines(once);
    expect(out.reiterable).toBe(false);
    expect(() => collect(out)).toThrow(/declared 5/);
  });
});

describe('foldHeader and encodeHeaderWord', () => {
  it('leaves short fields on one line, ending in CRLF', () => {
    expect(foldHeader('Subject', 'Hello')).toBe('Subject: Hello\r\n');
  });

  it('folds long fields before whitespace, every line within 78 characters, and unfolds back', () => {
    const value = Array.from({ length: 40 }, (_, i) => `recipient${i}@direct.example.org`).join(
      ', ',
    );
    const folded = foldHeader('To', value);
    expect(folded.endsWith('\r\n')).toBe(true);
    const lines = folded.slice(0, -2).split('\r\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of lines.slice(1)) expect(line).toMatch(/^[ \t]\S/);
    const reparsed = parseMime(Buffer.from(`${folded}\r\n`));
    expect(headerValue(reparsed, 'to')).toBe(value);
    expect(parseAddressList(headerValue(reparsed, 'to') ?? '')).toHaveLength(40);
  });

  it('keeps a word longer than a line whole, refuses one over 998 characters', () => {
    const id = `<${'x'.repeat(100)}@example.org>`;
    expect(foldHeader('Message-ID', id)).toBe(`Message-ID: ${id}\r\n`);
    expect(foldHeader('In-Reply-To', `${id} ${id}`)).toBe(`In-Reply-To: ${id}\r\n ${id}\r\n`);
    expect(codeOf(() => foldHeader('References', `<${'y'.repeat(1000)}@example.org>`))).toBe(
      'LIMIT_EXCEEDED',
    );
  });

  it('refuses header injection and bad names', () => {
    expect(() => foldHeader('Subject', 'hi\r\nBcc: eve@evil.example')).toThrow(TypeError);
    expect(() => foldHeader('Subject', 'hi\nX: y')).toThrow(TypeError);
    expect(() => foldHeader('Bad Name', 'x')).toThrow(TypeError);
    expect(() => foldHeader('Sub:ject', 'x')).toThrow(TypeError);
  });

  it('encodeHeaderWord: ASCII unchanged; non-ASCII as UTF-8 B-words of at most 75 characters that decode back', () => {
    expect(encodeHeaderWord('Plain subject')).toBe('Plain subject');
    const text = 'Befund für Müller — 🩺 Überweisung ' + 'ä'.repeat(60);
    const encoded = encodeHeaderWord(text);
    for (const word of encoded.split(' ')) {
      expect(word).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      expect(word.length).toBeLessThanOrEqual(75);
    }
    expect(decodeEncodedWords(encoded)).toBe(text);
    const folded = foldHeader('Subject', encoded);
    expect(
      decodeEncodedWords(headerValue(parseMime(Buffer.from(`${folded}\r\n`)), 'subject') ?? ''),
    ).toBe(text);
    expect(encodeHeaderWord('looks like =?UTF-8?B?eA==?= a word')).toMatch(/^=\?UTF-8\?B\?/);
    expect(codeOf(() => encodeHeaderWord('a\r\nb'))).toBe('MIME_MALFORMED');
  });
});

describe('risk-16: hostile inputs are bounded, typed and fast', () => {
  function timed(fn: () => unknown): { code: ReturnType<typeof codeOf>; ms: number } {
    const start = performance.now();
    const code = codeOf(fn);
    return { code, ms: performance.now() - start };
  }

  it('risk-16: 10,000-deep multipart nesting is LIMIT_EXCEEDED', () => {
    const parts: string[] = [];
    for (let i = 0; i < 10_000; i++)
      parts.push(`Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`);
    const data = Buffer.from(parts.join('') + 'leaf');
    const { code, ms } = timed(() => parseMime(data));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(ms).toBeLessThan(5000);
    // Exactly at the bound is fine.
    const ok = Array.from(
      { length: AGENT_LIMITS.mimeDepth },
      (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`,
    ).join('');
    expect(codeOf(() => parseMime(Buffer.from(ok)))).toBe('no error');
  });

  it('risk-16: 100,000 parts is LIMIT_EXCEEDED', () => {
    const data = Buffer.from(
      'Content-Type: multipart/mixed; boundary=p\r\n\r\n' +
        '--p\r\n\r\nx\r\n'.repeat(100_000) +
        '--p--\r\n',
    );
    const { code, ms } = timed(() => parseMime(data));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(ms).toBeLessThan(5000);
    const fine = Buffer.from(
      'Content-Type: multipart/mixed; boundary=p\r\n\r\n' +
        '--p\r\n\r\nx\r\n'.repeat(999) +
        '--p--\r\n',
    );
    expect(parseMime(fine).children).toHaveLength(999);
  });

  it('risk-16: a 1 MB header line is LIMIT_EXCEEDED', () => {
    const data = Buffer.from(`Subject: ${'x'.repeat(1024 * 1024)}\r\n\r\nbody`);
    const { code, ms } = timed(() => parseMime(data));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(ms).toBeLessThan(5000);
    expect(codeOf(() => parseMime(Buffer.from('x'.repeat(1024 * 1024))))).toBe('LIMIT_EXCEEDED');
  });

  it('risk-16: too many header fields, or too large a header block, is LIMIT_EXCEEDED', () => {
    expect(codeOf(() => parseMime(Buffer.from('X-A: 1\r\n'.repeat(1001) + '\r\n')))).toBe(
      'LIMIT_EXCEEDED',
    );
    const big = `X-Big: ${'y'.repeat(60_000)}\r\n`.repeat(5) + '\r\n';
    expect(codeOf(() => parseMime(Buffer.from(big)))).toBe('LIMIT_EXCEEDED');
    expect(
      codeOf(() => parseMime(Buffer.from('Subject: x\r\n\r\nbody'), { messageBytes: 10 })),
    ).toBe('LIMIT_EXCEEDED');
  });

  it('risk-16: a 10 KB boundary is LIMIT_EXCEEDED', () => {
    const boundary = 'b'.repeat(10 * 1024);
    const data = Buffer.from(
      `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\n\r\nx\r\n--${boundary}--\r\n`,
    );
    const { code, ms } = timed(() => parseMime(data));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(ms).toBeLessThan(5000);
  });

  it('risk-16: invalid base64 is MIME_MALFORMED, never silently skipped', () => {
    const m = parseMime(crlf('Content-Transfer-Encoding: base64', '', 'TUlB<script>', ''));
    expect(codeOf(() => decodeBody(m))).toBe('MIME_MALFORMED');
  });

  it('risk-16: NUL bytes — refused in headers, kept as bytes in bodies', () => {
    expect(codeOf(() => parseMime(Buffer.from('Sub\0ject: x\r\n\r\n')))).toBe('MIME_MALFORMED');
    const withNul = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\na\0b\r\n--b--',
    );
    expect(decodeBody(child(parseMime(withNul), 0))).toEqual(Buffer.from('a\0b'));
  });

  it('risk-16: every truncation of a realistic message is a result or a typed error', () => {
    const codes = new Set<string>();
    for (let length = 0; length <= MIXED.length; length += 7) {
      const code = codeOf(() => {
        const m = parseMime(MIXED.subarray(0, length));
        for (const c of m.children) decodeBody(c);
      });
      codes.add(code);
      expect(['no error', 'MIME_MALFORMED'], `length ${length}`).toContain(code);
    }
    expect(codes).toContain('no error');
    expect(codes).toContain('MIME_MALFORMED');
  });

  it('risk-16: random bytes and random mutations never crash', () => {
    const { ms } = timed(() => {
      for (let i = 0; i < 300; i++) {
        const data = i % 2 === 0 ? randomBytes(200 + i) : Buffer.from(MIXED);
        if (i % 2 === 1)
          for (let k = 0; k < 5; k++)
            data[(i * 31 + k * 97) % data.length] = randomBytes(1)[0] ?? 0;
        const code = codeOf(() => {
          const m = parseMime(data);
          for (const c of m.children) decodeBody(c);
          decodeBody(m);
        });
        expect(['no error', 'MIME_MALFORMED', 'LIMIT_EXCEEDED']).toContain(code);
      }
    });
    expect(ms).toBeLessThan(5000);
  });
});

describe('real Direct messages from other implementations', () => {
  const files: [string, string][] = [
    ['java-ri', 'EncryptedMessage2.txt'],
    ['java-ri', 'EncryptedMessage.txt'],
    ['java-ri', 'EncryptedMessage3.txt'],
    ['ett', 'TestGeneratedMessage.txt'],
  ];
  for (const [dir, name] of files) {
    it(`${dir}/${name}: S/MIME enveloped data at the outer level, base64 body is DER`, () => {
      const data = readFileSync(join(interop, dir, name));
      const message = parseMime(data);
      expect(['application/pkcs7-mime', 'application/x-pkcs7-mime']).toContain(
        message.contentType.mediaType,
      );
      expect(message.contentType.params['smime-type']).toBe('enveloped-data');
      expect(message.transferEncoding).toBe('base64');
      expect(message.children).toHaveLength(0);
      const der = decodeBody(message);
      expect(der[0]).toBe(0x30);
      expect(der.length).toBeGreaterThan(500);
      expect(parseAddressList(headerValue(message, 'from') ?? '')).toHaveLength(1);
    });
  }

  it('the LF-only java-ri message keeps LF; its From and To parse', () => {
    const data = readFileSync(join(interop, 'java-ri', 'EncryptedMessage2.txt'));
    const message = parseMime(data);
    expect(message.separator.toString()).toBe('\n');
    expect(parseAddressList(headerValue(message, 'from') ?? '')).toEqual([
      { address: 'gm2552@securehealthemail.com', name: 'Greg Meyer' },
    ]);
    expect(parseAddressList(headerValue(message, 'to') ?? '')).toEqual([
      { address: 'ryan@securehealthemail.com' },
    ]);
  });
});
