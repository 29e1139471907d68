import type { Context } from 'koa';
import { emailAddress } from '../../lib/email-address';
import { parseJson, readBodyWithin } from '../body';
import { RoyaltiError } from './errors';

export interface RoyaltiRequest {
  email: string;
  sendEmail: boolean;
  message: string | null;
  firstName: string | null;
  lastName: string | null;
  redirectUrl: string | null;
  role: string | null;
}

const MAX_BODY_BYTES = 64 * 1024;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function singleQuery(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new RoyaltiError(400, `${name} may be given once`);
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export async function readBody(ctx: Context): Promise<unknown> {
  const type = ctx.request.type.toLowerCase();
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new RoyaltiError(400, `Content-Type must be application/json, not ${type}`);
  }
  const raw = await readBodyWithin(ctx, MAX_BODY_BYTES, (message) => new RoyaltiError(400, message));
  if (raw.trim() === '') throw new RoyaltiError(400, 'Missing fields: email is required');
  return parseJson(raw, () => new RoyaltiError(400, 'The request body is not valid JSON'));
}

/** The documented fields; others are ignored, as the original ignores them. Empty strings count as absent. */
export function parseBody(body: unknown): RoyaltiRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RoyaltiError(400, 'The request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const text = (field: string, max: number): string | null => {
    const value = b[field];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') throw new RoyaltiError(400, `${field} must be a string`);
    if (value.length > max) throw new RoyaltiError(400, `${field} may be at most ${max} characters`);
    return value.trim() === '' ? null : value;
  };
  const email = text('email', 254);
  if (!email) throw new RoyaltiError(400, 'Missing fields: email is required');
  if (!emailAddress.safeParse(email.trim()).success) throw new RoyaltiError(400, 'email must be a valid email address');

  let sendEmail = true;
  const rawSend = b.sendEmail;
  if (rawSend === false || rawSend === 'false') sendEmail = false;
  else if (!(rawSend === undefined || rawSend === null || rawSend === true || rawSend === 'true')) throw new RoyaltiError(400, 'sendEmail must be true or false');

  return {
    email: email.trim(),
    sendEmail,
    message: text('message', 5000),
    firstName: text('firstName', 200),
    lastName: text('lastName', 200),
    redirectUrl: text('redirect_url', 2048)?.trim() ?? null,
    role: text('role', 100)?.trim() ?? null,
  };
}
