import type { Context } from 'koa';
import { formFields, readRawBytes } from '../body';
import { decodeXmlBody, XmlParseError } from '../xml';
import { QuickbaseError } from './errors';
import { parseQdbapi } from './xml';

/**
 * Parameters by lower-cased name. A name given twice with different values is refused when it is read, not when it is
 * merely present; the same value twice is one value (pyintuition sends its `apptoken` twice).
 */
export class Params {
  private readonly values = new Map<string, string[]>();

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.values.get(key);
    if (list) list.push(value);
    else this.values.set(key, [value]);
  }

  one(name: string): string | undefined {
    const list = this.values.get(name);
    if (!list) return undefined;
    if (list.some((value) => value !== list[0])) throw new QuickbaseError(2, `${name} is given more than once, with different values`);
    return list[0];
  }

  first(name: string): string | undefined {
    return this.values.get(name)?.[0];
  }
}

export function actionOf(ctx: Context): string | undefined {
  const header = ctx.get('quickbase-action').trim();
  if (header) return header;
  for (const key of ['a', 'act']) {
    const value = ctx.query[key];
    const first = Array.isArray(value) ? value[0] : value;
    if (first?.trim()) return first.trim();
  }
  return undefined;
}

/** Kept per request so that a refusal, too, echoes the `udata` the request sent. */
const paramsRead = new WeakMap<Context, Params>();

/** The request's parameters: the query's, and once `withBody` has read it, a POST body's. */
export function paramsOf(ctx: Context): Params {
  let params = paramsRead.get(ctx);
  if (!params) {
    params = queryParams(ctx);
    paramsRead.set(ctx, params);
  }
  return params;
}

function queryParams(ctx: Context): Params {
  const params = new Params();
  for (const [name, value] of Object.entries(ctx.query)) {
    if (name === 'a' || name === 'act') continue;
    for (const v of Array.isArray(value) ? value : [value ?? '']) params.add(name, v);
  }
  // Quickbase's RESTful clients (quickbase-api) send their user token as a header, also on legacy XML calls.
  const headerToken = /^QB-USER-TOKEN\s+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
  if (headerToken) params.add('usertoken', headerToken);
  return params;
}

/**
 * A POST body adds to the query's parameters: a `<qdbapi>` document whatever its Content-Type claims (curl's `-d`
 * labels everything a form), else a form body as fields; anything else is answered as unparsable XML.
 */
export async function withBody(ctx: Context, params: Params): Promise<void> {
  const bytes = await readRawBytes(ctx);
  // Form bodies are ASCII (percent-escaped UTF-8); this look only decides which of the two the body is.
  const trimmed = bytes.toString('latin1').replace(/^\xEF\xBB\xBF/, '').trimStart();
  if (trimmed === '') return;
  if (!trimmed.startsWith('<') && ctx.is('application/x-www-form-urlencoded')) {
    for (const [name, value] of formFields(bytes.toString('utf8'))) params.add(name, value);
    return;
  }
  try {
    for (const { name, value } of parseQdbapi(decodeXmlBody(bytes, charsetOf(ctx)))) params.add(name, value);
  } catch (err) {
    if (err instanceof XmlParseError) throw new QuickbaseError(11, `your XML request is not valid: ${err.message}`);
    throw err;
  }
}

/** The Content-Type's charset, for an XML body; form bodies say nothing that matters. */
function charsetOf(ctx: Context): string | undefined {
  if (ctx.is('application/x-www-form-urlencoded')) return undefined;
  return /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(ctx.get('content-type'))?.[1];
}
