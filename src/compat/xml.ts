/**
 * The XML the seed APIs exchange (Quickbase's `<qdbapi>`, Mendix's SOAP envelopes), and nothing more. Parsing is
 * hand-written and strict on purpose: no DTDs (so no entity expansion), no external anything, no processing
 * instructions; only the five predefined entities and character references, CDATA sections and comments. Namespaces
 * are resolved. Whatever else arrives is an XmlParseError for the caller to answer in its vendor's terms, never an
 * exception that escapes.
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

export interface XmlElement {
  kind: 'element';
  /** As written, prefix included. */
  name: string;
  localName: string;
  /** The namespace URI the element is in; '' for none. */
  namespace: string;
  /** As written (prefixed names and xmlns declarations included), references decoded. */
  attributes: ReadonlyMap<string, string>;
  children: XmlNode[];
  offset: number;
}

/** Character data: plain text (references decoded, newlines normalized) or a CDATA section. */
export interface XmlText {
  kind: 'text' | 'cdata';
  value: string;
  offset: number;
}

export type XmlNode = XmlElement | XmlText;

/** The encodings a body may declare; anything else is refused (see decodeXmlBody). */
export const XML_ENCODINGS: Readonly<Record<string, 'utf-8' | 'windows-1252'>> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'us-ascii': 'utf-8',
  ascii: 'utf-8',
  // Decoded as Windows-1252, a superset that gives the same characters for every byte ISO-8859-1 prints (as browsers do).
  'iso-8859-1': 'windows-1252',
  'iso8859-1': 'windows-1252',
  latin1: 'windows-1252',
  'iso-latin-1': 'windows-1252',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9._:-]/;
const WHITESPACE = /[ \t\r\n]/;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

/**
 * How deep elements may nest, the root being level 1. A `<qdbapi>` request is 2 levels deep and a SOAP envelope with
 * WS-Security headers under 10; the parser descends by recursion, so without a limit a few thousand nested elements
 * (well within either body limit) would overflow the call stack instead of being refused.
 */
export const MAX_XML_DEPTH = 64;

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

/**
 * The text of a body whose bytes arrived: a UTF-8 byte-order mark, else the Content-Type's charset (RFC 7303 makes it
 * authoritative), else the XML declaration's encoding, else UTF-8. Older clients send ISO-8859-1 or Windows-1252 and
 * say so in the declaration. Bytes that are not valid in the encoding chosen are refused, never guessed at.
 */
export function decodeXmlBody(bytes: Buffer, charset?: string): string {
  let label = 'utf-8';
  const hasBom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (!hasBom) label = (charset?.trim().toLowerCase() || declaredEncoding(bytes)) ?? 'utf-8';
  const encoding = XML_ENCODINGS[label];
  if (!encoding) throw new XmlParseError(`encoding "${label}" is not supported: send UTF-8, ISO-8859-1 or Windows-1252`, 0);
  try {
    // A BOM is kept, so the parser sees the same text it would have been given as a string.
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new XmlParseError(`the body is not valid ${label === 'utf-8' ? 'UTF-8' : label}; declare its encoding, e.g. <?xml version="1.0" encoding="ISO-8859-1"?>`, 0);
  }
}

/** The `encoding` of an XML declaration at the very start; the declaration itself is ASCII in every supported encoding. */
function declaredEncoding(bytes: Buffer): string | undefined {
  const head = bytes.subarray(0, 200).toString('latin1');
  if (!head.startsWith('<?xml')) return undefined;
  const end = head.indexOf('?>');
  const match = /[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')/.exec(end < 0 ? head : head.slice(0, end));
  return match ? (match[1] ?? match[2])!.toLowerCase() : undefined;
}

/** Parses a document into its root element. */
export function parseXml(input: string): XmlElement {
  return new Parser(input).document();
}

/** The text directly inside an element (its text and CDATA children, joined). */
export function textOf(element: XmlElement): string {
  return element.children.map((c) => (c.kind === 'element' ? '' : c.value)).join('');
}

export const childElements = (element: XmlElement): XmlElement[] => element.children.filter((c): c is XmlElement => c.kind === 'element');

type Scope = ReadonlyMap<string, string>;

class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  document(): XmlElement {
    if (this.src.startsWith('\uFEFF')) this.pos = 1;
    this.checkCharacters();
    if (this.src.startsWith('<?xml', this.pos) && this.isWhitespaceAt(this.pos + 5)) this.declaration();
    this.misc();
    if (this.src.startsWith('<!DOCTYPE', this.pos)) this.fail('document type declarations are not accepted');
    if (this.pos >= this.src.length) this.fail('the body is empty: expected an XML element');
    if (this.src[this.pos] !== '<') this.fail('expected an XML element');
    const root = this.element(new Map([['xml', XML_NAMESPACE]]), 1);
    this.misc();
    if (this.pos < this.src.length) this.fail(`unexpected content after </${root.name}>`);
    return root;
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
    const encoding = attrs.get('encoding');
    // The text was decoded before parsing (decodeXmlBody); here an encoding is only checked to be one that can be.
    if (encoding !== undefined && !XML_ENCODINGS[encoding.toLowerCase()]) {
      this.fail(`encoding "${encoding}" is not supported: send UTF-8, ISO-8859-1 or Windows-1252`);
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

  /**
   * `<name attr="…">content</name>` or `<name/>`, with its namespace resolved in `outer`'s scope plus its own
   * declarations; `depth` is its level (the root's is 1), refused past MAX_XML_DEPTH.
   */
  private element(outer: Scope, depth: number): XmlElement {
    if (depth > MAX_XML_DEPTH) this.fail(`elements may nest at most ${MAX_XML_DEPTH} levels deep`);
    const offset = this.pos;
    const { name, attributes, selfClosing } = this.startTag();
    const scope = this.scopeOf(attributes, outer);
    const { prefix, localName } = splitName(name);
    const namespace = this.namespaceOf(prefix, scope, offset);
    for (const attribute of attributes.keys()) {
      const attributePrefix = splitName(attribute).prefix;
      if (attributePrefix && attributePrefix !== 'xmlns') this.namespaceOf(attributePrefix, scope, offset);
    }
    const element: XmlElement = { kind: 'element', name, localName, namespace, attributes, children: [], offset };
    if (selfClosing) return element;
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unterminated <${name}> element`);
      const at = this.pos;
      if (this.src.startsWith('</', this.pos)) {
        this.endTag(name);
        return element;
      }
      if (this.src.startsWith('<![CDATA[', this.pos)) {
        const end = this.src.indexOf(']]>', this.pos + 9);
        if (end < 0) this.fail('unterminated CDATA section');
        element.children.push({ kind: 'cdata', value: normalizeNewlines(this.src.slice(this.pos + 9, end)), offset: at });
        this.pos = end + 3;
      } else if (this.src.startsWith('<!--', this.pos)) {
        this.comment();
      } else if (this.src.startsWith('<?', this.pos)) {
        this.fail('processing instructions are not accepted');
      } else if (this.src.startsWith('<!', this.pos)) {
        this.fail('markup declarations are not accepted inside an element');
      } else if (this.src[this.pos] === '<') {
        element.children.push(this.element(scope, depth + 1));
      } else {
        const value = this.text();
        const last = element.children.at(-1);
        if (last?.kind === 'text') last.value += value;
        else element.children.push({ kind: 'text', value, offset: at });
      }
    }
  }

  /** Text up to the next tag: references decoded, newlines normalized. */
  private text(): string {
    let value = '';
    while (this.pos < this.src.length && this.src[this.pos] !== '<') {
      if (this.src[this.pos] === '&') {
        value += this.reference();
        continue;
      }
      let next = this.pos;
      while (next < this.src.length && this.src[next] !== '<' && this.src[next] !== '&') next++;
      const text = this.src.slice(this.pos, next);
      const bad = text.indexOf(']]>');
      if (bad >= 0) {
        this.pos += bad;
        this.fail('"]]>" is not allowed in text');
      }
      value += normalizeNewlines(text);
      this.pos = next;
    }
    return value;
  }

  private scopeOf(attributes: ReadonlyMap<string, string>, outer: Scope): Scope {
    let scope: Map<string, string> | undefined;
    for (const [attribute, value] of attributes) {
      if (attribute !== 'xmlns' && !attribute.startsWith('xmlns:')) continue;
      const prefix = attribute === 'xmlns' ? '' : attribute.slice(6);
      if (prefix === 'xmlns' || (prefix === 'xml') !== (value === XML_NAMESPACE)) this.fail(`the prefix ${prefix} cannot be bound to ${value}`);
      if (prefix !== '' && value === '') this.fail(`the prefix ${prefix} cannot be undeclared`);
      scope ??= new Map(outer);
      scope.set(prefix, value);
    }
    return scope ?? outer;
  }

  private namespaceOf(prefix: string, scope: Scope, offset: number): string {
    const namespace = scope.get(prefix);
    if (namespace === undefined) {
      if (prefix === '') return '';
      this.pos = offset;
      this.fail(`the namespace prefix ${prefix} is not declared`);
    }
    return namespace;
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

  private startTag(): { name: string; attributes: Map<string, string>; selfClosing: boolean } {
    this.pos++; // '<'
    const name = this.name();
    const attributes = new Map<string, string>();
    for (;;) {
      const hadSpace = this.skipWhitespace();
      if (this.src.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, attributes, selfClosing: true };
      }
      if (this.src[this.pos] === '>') {
        this.pos++;
        return { name, attributes, selfClosing: false };
      }
      if (this.pos >= this.src.length) this.fail(`unterminated <${name}> tag`);
      if (!hadSpace) this.fail(`malformed <${name}> tag`);
      this.attribute(name, attributes);
    }
  }

  private attribute(element: string, attributes: Map<string, string>): void {
    const attr = this.name();
    if (attributes.has(attr)) this.fail(`attribute ${attr} repeated on <${element}>`);
    this.skipWhitespace();
    if (this.src[this.pos] !== '=') this.fail(`attribute ${attr} on <${element}> needs a value`);
    this.pos++;
    this.skipWhitespace();
    const quote = this.src[this.pos];
    if (quote !== '"' && quote !== "'") this.fail(`the value of attribute ${attr} must be quoted`);
    this.pos++;
    let value = '';
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unterminated value of attribute ${attr}`);
      const ch = this.src[this.pos]!;
      if (ch === quote) break;
      if (ch === '<') this.fail(`"<" is not allowed in the value of attribute ${attr}`);
      if (ch === '&') {
        value += this.reference();
      } else {
        // Attribute-value normalization: each whitespace character becomes a space.
        value += WHITESPACE.test(ch) ? ' ' : ch;
        this.pos++;
      }
    }
    this.pos++;
    attributes.set(attr, value);
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
    const name = this.src.slice(start, this.pos);
    if (!/^[^:]+(?::[^:]+)?$/.test(name)) this.fail(`malformed name ${name}`);
    return name;
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

function splitName(name: string): { prefix: string; localName: string } {
  const colon = name.indexOf(':');
  return colon < 0 ? { prefix: '', localName: name } : { prefix: name.slice(0, colon), localName: name.slice(colon + 1) };
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
