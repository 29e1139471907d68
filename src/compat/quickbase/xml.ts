import { escapeXml, parseXml, textOf, XmlParseError } from '../xml';

/**
 * The XML of Quickbase's API: a request is one flat `<qdbapi>` element whose children are the parameters
 * (`<userid>112249.ctdg</userid>`), and a response is the same shape. The strict parser is shared (../xml.ts); this
 * only holds a document to Quickbase's shape.
 */

/** One child element of `<qdbapi>`: its name as written and its decoded text. */
export interface XmlParameter {
  name: string;
  value: string;
}

/** Parses a `<qdbapi>` request body into its parameters, in document order (duplicates kept for the caller to judge). */
export function parseQdbapi(input: string): XmlParameter[] {
  const root = parseXml(input);
  if (root.name !== 'qdbapi') throw new XmlParseError(`the root element must be <qdbapi>, not <${root.name}>`, root.offset);
  const params: XmlParameter[] = [];
  for (const child of root.children) {
    if (child.kind === 'element') {
      const nested = child.children.find((c) => c.kind === 'element');
      if (nested) throw new XmlParseError(`<${child.name}> may hold only text: nested elements are not accepted`, nested.offset);
      params.push({ name: child.name, value: textOf(child) });
    } else if (child.kind === 'cdata') {
      throw new XmlParseError('CDATA directly inside <qdbapi>: put it inside a parameter element', child.offset);
    } else if (child.value.trim() !== '') {
      throw new XmlParseError('text directly inside <qdbapi>: parameters must be elements such as <userid>…</userid>', child.offset);
    }
  }
  return params;
}

/** A response in the shape of Quickbase's samples: the declaration, then one element per line, three spaces in. */
export function renderQdbapi(elements: ReadonlyArray<readonly [name: string, value: string]>): string {
  const lines = elements.map(([name, value]) => `   <${name}>${escapeXml(value)}</${name}>`);
  return ['<?xml version="1.0" ?>', '<qdbapi>', ...lines, '</qdbapi>', ''].join('\n');
}
