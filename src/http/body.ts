import type { Context } from 'koa';
import { z } from 'zod';
import { UsherError } from '../lib/errors';

/** The `Idempotency-Key` header's value. */
export const idempotencyKey = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, { message: 'must be printable ASCII' });

export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads the raw body, refusing anything over the limit before or while it arrives. */
export async function readRawBody(ctx: Context, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new UsherError('payload-too-large', `the body may be at most ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      ctx.req.unpipe();
      ctx.set('Connection', 'close');
      throw new UsherError('payload-too-large', `the body may be at most ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON body validated by a strict zod schema: malformed JSON, wrong types and unknown fields are all 400. */
export async function readJson<S extends z.ZodType>(ctx: Context, schema: S, options: { optional?: boolean } = {}): Promise<z.infer<S>> {
  const raw = await readRawBody(ctx);
  // No body at all is "nothing given"; whitespace sent as JSON is malformed JSON like any other.
  if (raw === '' && options.optional) return parse(schema, {});
  if (!ctx.is('application/json', '+json')) {
    throw new UsherError('unsupported-media-type', 'send the body as application/json');
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new UsherError('malformed-json', (err as Error).message);
  }
  return parse(schema, value);
}

export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const unstorable = unstorableText(value);
  if (unstorable) {
    const errors = [{ path: unstorable.path || '(body)', message: unstorable.message }];
    throw new UsherError('invalid-request', `${errors[0]!.path}: ${unstorable.message}`, { errors });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: describe(i) }));
  throw new UsherError('invalid-request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text PostgreSQL cannot store (U+0000 anywhere, a lone surrogate in JSON): refused at the door, because once past it
 * such text fails every write it reaches, a workflow's activities included, which would retry it forever.
 */
export function unstorableText(value: unknown): { path: string; message: string } | undefined {
  // Iterative and allocation-light: a body may nest as deep as JSON.parse lets it (far deeper than the call stack), and
  // a bulk upload holds tens of thousands of rows. The path named is the top-level field the text is under.
  const values: unknown[] = [value];
  const fields: string[] = [''];
  while (values.length > 0) {
    const next = values.pop();
    const field = fields.pop()!;
    if (typeof next === 'string') {
      if (next.includes('\u0000')) return { path: field, message: 'must not contain the character U+0000' };
      if (LONE_SURROGATE.test(next)) return { path: field, message: 'must be well-formed Unicode (no unpaired surrogates)' };
    } else if (Array.isArray(next)) {
      for (const item of next) {
        values.push(item);
        fields.push(field);
      }
    } else if (typeof next === 'object' && next !== null) {
      for (const key of Object.keys(next)) {
        const at = field === '' ? key : field;
        values.push(key, (next as Record<string, unknown>)[key]);
        fields.push(at, at);
      }
    }
  }
  return undefined;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  return issue.message;
}
