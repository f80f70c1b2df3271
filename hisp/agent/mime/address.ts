/**
 * RFC 5322 §3.4 address lists (From, To, Cc, Reply-To …): mailboxes with or without display
 * names, quoted strings, comments, angle addresses, groups ("undisclosed-recipients:;"), and
 * the §4.4 obsolete forms (routes "<@a,@b:x@y>", CFWS around dots and "@", empty list
 * elements, unquoted "." in display names). UTF-8 (RFC 6532) passes through; RFC 2047
 * encoded-words in display names are decoded.
 *
 * The address keeps its local part as written (quotes included) and lowercases the domain;
 * `normalizeAddress` gives the form to compare. Bounded by ADDRESS_LIMITS; anything that is
 * not an address is MIME_MALFORMED (the routing tamper check must not skip what it cannot read).
 */
import { malformed, tooBig } from './errors.js';
import { decodeEncodedWords } from './headers.js';
import { ADDRESS_LIMITS } from './limits.js';

export interface ParsedAddress {
  /** local@domain: local part as written (a quoted one keeps its quotes), domain lowercased. */
  readonly address: string;
  /** The display name (unquoted, encoded-words decoded), or a trailing comment "(Name)". */
  readonly name?: string;
  /** The group the mailbox was listed in ("Team: a@x, b@y;"). */
  readonly group?: string;
}

type TokenKind = 'atom' | 'quoted' | 'literal' | 'special';
interface Token {
  readonly kind: TokenKind;
  /** atom text, quoted-string content (unescaped), domain literal as written, or the special. */
  readonly text: string;
  /** Exactly as written (for quoted local parts). */
  readonly raw: string;
}

const SPECIALS = new Set(['<', '>', ':', ';', '@', ',', '.', '[', ']']);

/** Tokens plus the comments seen (a comment after an address is its name in old mail). */
function tokenize(value: string): { tokens: Token[]; comments: Map<number, string> } {
  const tokens: Token[] = [];
  const comments = new Map<number, string>();
  let i = 0;
  const len = value.length;
  while (i < len) {
    const c = value[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
    } else if (c === '(') {
      let depth = 0;
      let text = '';
      while (i < len) {
        const d = value[i++] ?? '';
        if (d === '\\' && i < len) {
          text += value[i++] ?? '';
          continue;
        }
        if (d === '(') {
          depth++;
          if (depth > ADDRESS_LIMITS.commentDepth)
            throw tooBig(
              `An address comment is nested more than ${ADDRESS_LIMITS.commentDepth} deep.`,
            );
          if (depth === 1) continue;
        } else if (d === ')') {
          depth--;
          if (depth === 0) break;
        }
        text += d;
      }
      if (depth !== 0) throw malformed('An address list has an unclosed comment.');
      comments.set(tokens.length, text.trim());
    } else if (c === '"') {
      const start = i++;
      let text = '';
      let closed = false;
      while (i < len) {
        const d = value[i++] ?? '';
        if (d === '\\' && i < len) text += value[i++] ?? '';
        else if (d === '"') {
          closed = true;
          break;
        } else text += d;
      }
      if (!closed) throw malformed('An address list has an unclosed quoted string.');
      tokens.push({ kind: 'quoted', text, raw: value.slice(start, i) });
    } else if (c === '[') {
      const close = value.indexOf(']', i);
      if (close < 0) throw malformed('An address list has an unclosed domain literal.');
      const raw = value.slice(i, close + 1);
      tokens.push({ kind: 'literal', text: raw, raw });
      i = close + 1;
    } else if (SPECIALS.has(c)) {
      tokens.push({ kind: 'special', text: c, raw: c });
      i++;
    } else if (c === ')' || c === '\\') {
      throw malformed(`An address list has a stray "${c}".`);
    } else {
      const start = i;
      while (i < len) {
        const d = value[i] ?? '';
        if (
          d === ' ' ||
          d === '\t' ||
          d === '\r' ||
          d === '\n' ||
          d === '(' ||
          d === '"' ||
          d === ')' ||
          d === '\\' ||
          SPECIALS.has(d)
        )
          break;
        i++;
      }
      const text = value.slice(start, i);
      tokens.push({ kind: 'atom', text, raw: text });
    }
  }
  return { tokens, comments };
}

class AddressParser {
  pos = 0;
  readonly out: ParsedAddress[] = [];
  constructor(
    readonly tokens: Token[],
    readonly comments: Map<number, string>,
  ) {}

  peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  isSpecial(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === 'special' && t.text === text;
  }

  parseList(): void {
    while (this.pos < this.tokens.length) {
      if (this.isSpecial(',')) {
        this.pos++; // obs-addr-list: empty elements
        continue;
      }
      this.parseAddress();
      const previous = this.tokens[this.pos - 1];
      const afterGroup = previous?.kind === 'special' && previous.text === ';';
      if (this.pos < this.tokens.length && !afterGroup) {
        // A group's ";" already ends it; a comma after it is optional in practice.
        if (!this.isSpecial(','))
          throw malformed('Addresses in a list must be separated by commas.');
        this.pos++;
      }
    }
  }

  /** address = mailbox / group */
  parseAddress(group?: string): void {
    const phraseStart = this.pos;
    while (this.pos < this.tokens.length) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.kind === 'special' && t.text !== '.') break;
      this.pos++;
    }
    const phrase = this.tokens.slice(phraseStart, this.pos);
    const next = this.peek();
    if (next?.kind === 'special' && next.text === ':') {
      if (group !== undefined) throw malformed('An address group is nested inside another group.');
      this.pos++;
      const name = phraseText(phrase) || 'group';
      while (this.pos < this.tokens.length && !this.isSpecial(';')) {
        if (this.isSpecial(',')) {
          this.pos++;
          continue;
        }
        this.parseAddress(name);
        if (!this.isSpecial(',') && !this.isSpecial(';') && this.pos < this.tokens.length)
          throw malformed('Addresses in a group must be separated by commas.');
      }
      if (this.isSpecial(';')) this.pos++; // a missing ";" at the end is tolerated
      return;
    }
    if (next?.kind === 'special' && next.text === '<') {
      this.pos++;
      this.skipRoute();
      const address = this.addrSpec(this.pos, '>');
      if (!this.isSpecial('>')) throw malformed('An angle address is not closed with ">".');
      this.pos++;
      this.push(address, phraseText(phrase) || this.trailingComment(), group);
      return;
    }
    if (next?.kind === 'special' && next.text === '@') {
      const address = this.addrSpec(phraseStart, undefined);
      this.push(address, this.trailingComment(), group);
      return;
    }
    if (phrase.length === 0) {
      if (
        next === undefined ||
        (next.kind === 'special' && (next.text === ',' || next.text === ';'))
      )
        return;
      throw malformed(`Unexpected "${next.text}" in an address list.`);
    }
    throw malformed('An address list entry is not an address (no "@").');
  }

  /** A comment right after the address: "bob@x (Bob Smith)" names Bob in older mail. */
  trailingComment(): string | undefined {
    const comment = this.comments.get(this.pos);
    return comment ? decodeEncodedWords(comment) : undefined;
  }

  /** obs-route: "@a,@b:" before the addr-spec in an angle address (ignored). */
  skipRoute(): void {
    if (!this.isSpecial('@')) return;
    const start = this.pos;
    while (this.pos < this.tokens.length && !this.isSpecial(':') && !this.isSpecial('>'))
      this.pos++;
    if (this.isSpecial(':')) this.pos++;
    else this.pos = start;
  }

  /** addr-spec from `start`: local-part "@" domain. Stops at `stop` or a list special. */
  addrSpec(start: number, stop: string | undefined): string {
    this.pos = start;
    let local = '';
    let lastWasWord = false;
    while (this.pos < this.tokens.length) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.kind === 'atom' || t.kind === 'quoted') {
        // Words are joined by dots ("john . doe" is obs-local-part); "John Smith@x" is not.
        if (lastWasWord)
          throw malformed('An address has two words in its local part without a dot.');
        local += t.kind === 'quoted' ? t.raw : t.text;
        lastWasWord = true;
      } else if (t.kind === 'special' && t.text === '.') {
        local += '.';
        lastWasWord = false;
      } else break;
      this.pos++;
    }
    if (local === '' || !this.isSpecial('@'))
      throw malformed('An address has no local part or no "@".');
    this.pos++;
    let domain = '';
    const first = this.peek();
    if (first?.kind === 'literal') {
      domain = first.text;
      this.pos++;
    } else {
      let lastWasLabel = false;
      while (this.pos < this.tokens.length) {
        const t = this.peek();
        if (t === undefined) break;
        if (t.kind === 'atom') {
          if (lastWasLabel) throw malformed('An address has a space inside its domain.');
          domain += t.text;
          lastWasLabel = true;
        } else if (t.kind === 'special' && t.text === '.') {
          domain += '.';
          lastWasLabel = false;
        } else break;
        this.pos++;
      }
    }
    if (domain === '' || domain.startsWith('.') || domain.endsWith('.') || domain.includes('..'))
      throw malformed('An address has an empty or invalid domain.');
    const after = this.peek();
    if (
      after !== undefined &&
      !(
        after.kind === 'special' &&
        (after.text === ',' || after.text === ';' || after.text === stop)
      )
    )
      throw malformed('Unexpected text after an address.');
    const address = `${local}@${domain.toLowerCase()}`;
    if (address.length > ADDRESS_LIMITS.addressChars)
      throw tooBig(`An address is longer than ${ADDRESS_LIMITS.addressChars} characters.`);
    return address;
  }

  push(address: string, name: string | undefined, group: string | undefined): void {
    if (this.out.length >= ADDRESS_LIMITS.addresses)
      throw tooBig(`The address list has more than ${ADDRESS_LIMITS.addresses} addresses.`);
    this.out.push({
      address,
      ...(name === undefined || name === '' ? {} : { name }),
      ...(group === undefined ? {} : { group }),
    });
  }
}

/**
 * Display-name words joined with single spaces (no space before "."), quotes removed, then
 * encoded-words decoded over the whole phrase (so the space between adjacent encoded-words
 * is dropped, RFC 2047 §6.2).
 */
function phraseText(phrase: readonly Token[]): string {
  let text = '';
  phrase.forEach((t, i) => {
    const glue = i === 0 || (t.kind === 'special' && t.text === '.') ? '' : ' ';
    text += glue + t.text;
  });
  return decodeEncodedWords(text).trim();
}

/**
 * Every mailbox in an RFC 5322 address-list / mailbox-list header value, in order; groups are
 * flattened (their name is on each member); an empty group gives nothing.
 * @throws HispError MIME_MALFORMED (not an address list), LIMIT_EXCEEDED (ADDRESS_LIMITS).
 */
export function parseAddressList(value: string): ParsedAddress[] {
  if (value.length > ADDRESS_LIMITS.listChars)
    throw tooBig(`The address list is longer than ${ADDRESS_LIMITS.listChars} characters.`);
  const { tokens, comments } = tokenize(value);
  const parser = new AddressParser(tokens, comments);
  parser.parseList();
  return parser.out;
}

/**
 * The form to compare addresses in: all lowercase, surrounding "<>" and whitespace removed, a
 * quoted local part unquoted when the quotes were not needed ("\"bob\"@x" → "bob@x").
 */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith('<') && a.endsWith('>')) a = a.slice(1, -1).trim();
  const at = a.lastIndexOf('@');
  if (at > 0) {
    let local = a.slice(0, at);
    const domain = a.slice(at + 1);
    if (local.length >= 2 && local.startsWith('"') && local.endsWith('"')) {
      const inner = local.slice(1, -1).replace(/\\(.)/g, '$1');
      if (/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(inner))
        local = inner;
    }
    a = `${local}@${domain}`;
  }
  return a.toLowerCase();
}

/** The domain of an address (after its last '@'), lowercase. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
