import type { Context } from 'koa';
import { MAX_BODY_BYTES, readRawBody } from '../http/body';
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

/** JSON text as a value; text that is not JSON is refused with the vendor's error, given the parser's reason. */
export function parseJson(raw: string, malformed: (reason: string) => Error): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw malformed((err as Error).message);
  }
}

/** A body that must be JSON, refused in the core's terms: another media type is 415 (`unsupported` says what to send), broken JSON 400. */
export function jsonOf(ctx: Context, raw: string, unsupported: string): unknown {
  if (!ctx.is('application/json', '+json')) throw new UsherError('unsupported-media-type', unsupported);
  return parseJson(raw, (reason) => new UsherError('malformed-json', `the request body is not valid JSON: ${reason}`));
}
