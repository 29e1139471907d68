/**
 * The XML of Quickbase's API, and nothing more: a request is one flat `<qdbapi>` element whose children are the
 * parameters (`<userid>112249.ctdg</userid>`), and a response is the same shape. Parsing is hand-written and strict
 * on purpose: no DTDs (so no entity expansion), no external anything, no nesting, only the five predefined entities
 * and character references, CDATA sections and comments. Whatever else arrives is a parse error for the caller to
 * answer with Quickbase's own code, never an exception that escapes.
 */

export class XmlParseError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
    this.name = 'XmlParseError';
  }
}

/** One child element of `<qdbapi>`: its name as written and its decoded text. */
export interface XmlParameter {
  name: string;
  value: string;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9._-]/;
const WHITESPACE = /[ \t\r\n]/;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** Encodings whose bytes agree with UTF-8 for the text we read (the body is always decoded as UTF-8). */
const UTF8_COMPATIBLE = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
/** Single-byte encodings a client may declare out of habit: fine as long as the body is plain ASCII. */
const ASCII_ONLY_OK = new Set(['iso-8859-1', 'latin1', 'iso-latin-1', 'windows-1252', 'cp1252']);

/** XML 1.0 `Char`: tab, newline, carriage return and everything from space up, minus surrogates, U+FFFE and U+FFFF. */
export function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

/** Parses a `<qdbapi>` request body into its parameters, in document order (duplicates kept for the caller to judge). */
export function parseQdbapi(input: string): XmlParameter[] {
  return new Parser(input).document();
}

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  document(): XmlParameter[] {
    if (this.src.startsWith('\uFEFF')) this.pos = 1;
    this.checkCharacters();
    if (this.src.startsWith('<?xml', this.pos) && this.isWhitespaceAt(this.pos + 5)) this.declaration();
    this.misc();
    if (this.src.startsWith('<!DOCTYPE', this.pos)) this.fail('document type declarations are not accepted');
    if (this.pos >= this.src.length) this.fail('the body is empty: expected a <qdbapi> element');
    if (this.src[this.pos] !== '<') this.fail('expected a <qdbapi> element');
    const params = this.root();
    this.misc();
    if (this.pos < this.src.length) this.fail('unexpected content after </qdbapi>');
    return params;
  }

  /** Every character must be one XML allows: control characters and lone surrogates are refused up front. */
  private checkCharacters(): void {
    for (let i = this.pos; i < this.src.length; i++) {
      const code = this.src.codePointAt(i)!;
      if (!isXmlChar(code)) {
        this.pos = i;
        this.fail(`character U+${code.toString(16).toUpperCase().padStart(4, '0')} is not allowed in XML`);
      }
      if (code > 0xffff) i++;
    }
  }

  /** `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, only at the very start. */
  private declaration(): void {
    const start = this.pos;
    const end = this.src.indexOf('?>', start);
    if (end < 0) this.fail('unterminated XML declaration');
    const body = this.src.slice(start + 5, end);
    const pseudo = /^(?:[ \t\r\n]+(version|encoding|standalone)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)'))*[ \t\r\n]*$/;
    if (!pseudo.test(body)) this.fail('malformed XML declaration');
    const attrs = new Map<string, string>();
    for (const m of body.matchAll(/(version|encoding|standalone)[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')/g)) {
      if (attrs.has(m[1]!)) this.fail(`repeated ${m[1]} in the XML declaration`);
      attrs.set(m[1]!, m[2] ?? m[3] ?? '');
    }
    const version = attrs.get('version');
    if (version === undefined || !/^1\.[0-9]+$/.test(version)) this.fail('the XML declaration needs version="1.0"');
    const encoding = attrs.get('encoding')?.toLowerCase();
    if (encoding !== undefined && !UTF8_COMPATIBLE.has(encoding)) {
      // The body was read as UTF-8; another encoding only gives the same characters when everything is ASCII.
      if (!ASCII_ONLY_OK.has(encoding) || !isAscii(this.src.slice(end))) {
        this.fail(`encoding "${attrs.get('encoding')}" is not supported: send UTF-8`);
      }
    }
    const standalone = attrs.get('standalone');
    if (standalone !== undefined && standalone !== 'yes' && standalone !== 'no') this.fail('standalone must be "yes" or "no"');
    this.pos = end + 2;
  }

  /** Whitespace and comments between the prolog, the root element and the end. */
  private misc(): void {
    for (;;) {
      this.skipWhitespace();
      if (this.src.startsWith('<!--', this.pos)) this.comment();
      else if (this.src.startsWith('<?xml', this.pos) && this.isWhitespaceAt(this.pos + 5)) this.fail('the XML declaration must come first in the body');
      else if (this.src.startsWith('<?', this.pos)) this.fail('processing instructions are not accepted');
      else return;
    }
  }

  private root(): XmlParameter[] {
    const { name, selfClosing } = this.startTag();
    if (name !== 'qdbapi') this.fail(`the root element must be <qdbapi>, not <${name}>`);
    const params: XmlParameter[] = [];
    if (selfClosing) return params;
    for (;;) {
      const textStart = this.pos;
      this.skipWhitespace();
      if (this.pos >= this.src.length) this.fail('unterminated <qdbapi> element');
      if (this.src[this.pos] !== '<') {
        this.pos = textStart;
        this.fail('text directly inside <qdbapi>: parameters must be elements such as <userid>…</userid>');
      }
      if (this.src.startsWith('<!--', this.pos)) {
        this.comment();
      } else if (this.src.startsWith('</', this.pos)) {
        this.endTag('qdbapi');
        return params;
      } else if (this.src.startsWith('<![CDATA[', this.pos)) {
        this.fail('CDATA directly inside <qdbapi>: put it inside a parameter element');
      } else if (this.src.startsWith('<!', this.pos) || this.src.startsWith('<?', this.pos)) {
        this.fail('only elements and comments may appear inside <qdbapi>');
      } else {
        params.push(this.parameter());
      }
    }
  }

  /** `<name attr="…">text, references, CDATA, comments</name>` or `<name/>`; a nested element is refused. */
  private parameter(): XmlParameter {
    const { name, selfClosing } = this.startTag();
    if (selfClosing) return { name, value: '' };
    let value = '';
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unterminated <${name}> element`);
      const ch = this.src[this.pos]!;
      if (ch === '<') {
        if (this.src.startsWith('</', this.pos)) {
          this.endTag(name);
          return { name, value };
        }
        if (this.src.startsWith('<![CDATA[', this.pos)) {
          const end = this.src.indexOf(']]>', this.pos + 9);
          if (end < 0) this.fail('unterminated CDATA section');
          value += normalizeNewlines(this.src.slice(this.pos + 9, end));
          this.pos = end + 3;
        } else if (this.src.startsWith('<!--', this.pos)) {
          this.comment();
        } else {
          this.fail(`<${name}> may hold only text: nested elements are not accepted`);
        }
      } else if (ch === '&') {
        value += this.reference();
      } else {
        const next = this.nextMarkup(this.pos);
        const text = this.src.slice(this.pos, next);
        const bad = text.indexOf(']]>');
        if (bad >= 0) {
          this.pos += bad;
          this.fail('"]]>" is not allowed in text');
        }
        value += normalizeNewlines(text);
        this.pos = next;
      }
    }
  }

  private nextMarkup(from: number): number {
    let i = from;
    while (i < this.src.length && this.src[i] !== '<' && this.src[i] !== '&') i++;
    return i;
  }

  /** `&amp; &lt; &gt; &quot; &apos; &#60; &#x3C;`; any other reference is an error (there is no DTD to define one). */
  private reference(): string {
    const end = this.src.indexOf(';', this.pos);
    if (end < 0 || end - this.pos > 12) this.fail('"&" must start a reference such as &amp;');
    const body = this.src.slice(this.pos + 1, end);
    let text: string;
    if (body.startsWith('#')) {
      const code = /^#x[0-9A-Fa-f]+$/.test(body) ? Number.parseInt(body.slice(2), 16) : /^#[0-9]+$/.test(body) ? Number.parseInt(body.slice(1), 10) : NaN;
      if (Number.isNaN(code)) this.fail(`malformed character reference &${body};`);
      if (!isXmlChar(code)) this.fail(`character reference &${body}; names a character XML does not allow`);
      text = String.fromCodePoint(code);
    } else {
      const named = PREDEFINED[body];
      if (named === undefined) this.fail(`unknown entity &${body};`);
      text = named;
    }
    this.pos = end + 1;
    return text;
  }

  private startTag(): { name: string; selfClosing: boolean } {
    this.pos++; // '<'
    const name = this.name();
    const seen = new Set<string>();
    for (;;) {
      const hadSpace = this.skipWhitespace();
      if (this.src.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, selfClosing: true };
      }
      if (this.src[this.pos] === '>') {
        this.pos++;
        return { name, selfClosing: false };
      }
      if (this.pos >= this.src.length) this.fail(`unterminated <${name}> tag`);
      if (!hadSpace) this.fail(`malformed <${name}> tag`);
      this.attribute(name, seen);
    }
  }

  /** Attributes are parsed (so a well-formed `xmlns="…"` passes) and then ignored: no parameter is an attribute. */
  private attribute(element: string, seen: Set<string>): void {
    const attr = this.name();
    if (seen.has(attr)) this.fail(`attribute ${attr} repeated on <${element}>`);
    seen.add(attr);
    this.skipWhitespace();
    if (this.src[this.pos] !== '=') this.fail(`attribute ${attr} on <${element}> needs a value`);
    this.pos++;
    this.skipWhitespace();
    const quote = this.src[this.pos];
    if (quote !== '"' && quote !== "'") this.fail(`the value of attribute ${attr} must be quoted`);
    this.pos++;
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unterminated value of attribute ${attr}`);
      const ch = this.src[this.pos]!;
      if (ch === quote) break;
      if (ch === '<') this.fail(`"<" is not allowed in the value of attribute ${attr}`);
      if (ch === '&') this.reference();
      else this.pos++;
    }
    this.pos++;
  }

  private endTag(expected: string): void {
    this.pos += 2; // '</'
    const name = this.name();
    this.skipWhitespace();
    if (this.src[this.pos] !== '>') this.fail(`malformed </${name}> tag`);
    if (name !== expected) this.fail(`</${name}> does not close <${expected}>`);
    this.pos++;
  }

  private comment(): void {
    const end = this.src.indexOf('-->', this.pos + 4);
    if (end < 0) this.fail('unterminated comment');
    const inner = this.src.slice(this.pos + 4, end);
    if (inner.includes('--') || inner.endsWith('-')) this.fail('"--" is not allowed inside a comment');
    this.pos = end + 3;
  }

  private name(): string {
    const start = this.pos;
    if (!NAME_START.test(this.src[this.pos] ?? '')) this.fail('expected an element or attribute name');
    this.pos++;
    while (this.pos < this.src.length && NAME_CHAR.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private skipWhitespace(): boolean {
    const start = this.pos;
    while (this.pos < this.src.length && WHITESPACE.test(this.src[this.pos]!)) this.pos++;
    return this.pos > start;
  }

  private isWhitespaceAt(index: number): boolean {
    return WHITESPACE.test(this.src[index] ?? '');
  }

  private fail(message: string): never {
    throw new XmlParseError(message, this.pos);
  }
}

/** XML's end-of-line handling: CRLF and a lone CR both become LF. */
const normalizeNewlines = (text: string): string => text.replace(/\r\n?/g, '\n');

/**
 * Text safe inside an element or a double-quoted attribute: the five markup characters escaped, and any character
 * XML 1.0 cannot carry at all (control characters, lone surrogates; a reference would not help) replaced by U+FFFD.
 */
export function escapeXml(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else if (!isXmlChar(code)) out += '\uFFFD';
    else out += ch;
  }
  return out;
}

/** A response in the shape of Quickbase's samples: the declaration, then one element per line, three spaces in. */
export function renderQdbapi(elements: ReadonlyArray<readonly [name: string, value: string]>): string {
  const lines = elements.map(([name, value]) => `   <${name}>${escapeXml(value)}</${name}>`);
  return ['<?xml version="1.0" ?>', '<qdbapi>', ...lines, '</qdbapi>', ''].join('\n');
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
