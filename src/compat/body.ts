import type { Context } from 'koa';
import { MAX_BODY_BYTES, readRawBody, unstorableText } from '../http/body';
import { UsherError } from '../lib/errors';

/** The raw body; one over `limit` bytes is refused with the vendor's 400, given its wording. */
export async function readBodyWithin(ctx: Context, limit: number, badRequest: (message: string) => Error): Promise<string> {
  try {
    return await readRawBody(ctx, limit);
  } catch (err) {
    if (err instanceof UsherError && err.code === 'payload-too-large') throw badRequest(`The request body may be at most ${limit} bytes`);
    throw err;
  }
}

/**
 * The body's bytes, for a vendor whose bodies declare their own encoding (XML): decoding is the caller's. The same
 * limit as readRawBody, checked before and while the body arrives.
 */
export async function readRawBytes(ctx: Context, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new UsherError('payload-too-large', `the body may be at most ${limit} bytes`);
  if (Number(ctx.get('content-length') || 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.unpipe();
      ctx.set('Connection', 'close');
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * JSON text as a value; text that is not JSON is refused with the vendor's error, given the parser's reason. A value
 * holding text PostgreSQL cannot store is refused too (see refuseUnstorable).
 */
export function parseJson(raw: string, malformed: (reason: string) => Error): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw malformed((err as Error).message);
  }
  refuseUnstorable(value);
  return value;
}

/** An application/x-www-form-urlencoded body's fields, in order; one holding text PostgreSQL cannot store is refused. */
export function formFields(raw: string): Array<[name: string, value: string]> {
  const fields = [...new URLSearchParams(raw)];
  for (const [name, value] of fields) refuseUnstorable({ [name]: value });
  return fields;
}

/**
 * Text PostgreSQL cannot store (U+0000, unpaired surrogates) anywhere in `value`, names included, refused as
 * `invalid-request` before anything looks it up or stores it: the native API's rule (unstorableText), which each
 * adapter answers as its own invalid input. `where` names the value when it is not an object of named fields.
 */
export function refuseUnstorable(value: unknown, where?: string): void {
  const found = unstorableText(value);
  if (!found) return;
  // A name that is itself unstorable is not echoed.
  const field = found.path !== '' && !unstorableText(found.path) ? found.path : where;
  throw new UsherError('invalid-request', `${field ?? 'the request'}: ${found.message}`, field ? { field } : {});
}

/** A body that must be JSON, refused in the core's terms: another media type is 415 (`unsupported` says what to send), broken JSON 400. */
export function jsonOf(ctx: Context, raw: string, unsupported: string): unknown {
  if (!ctx.is('application/json', '+json')) throw new UsherError('unsupported-media-type', unsupported);
  return parseJson(raw, (reason) => new UsherError('malformed-json', `the request body is not valid JSON: ${reason}`));
}
