import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Db } from '../db/connect';
import { findInvitationById, listInvitations } from '../db/invitations';
import { findTenant, findTenantBySlug } from '../db/tenants';
import { parse } from '../http/body';
import { canonicalEmail } from '../lib/email-address';
import { UsherError } from '../lib/errors';
import type { InvitationDeps } from './deps';
import { editInvitation, resendInvitation, revokeInvitation } from './manage';
import { idParam, invitationStatus, revokeBody } from './schemas';
import { type InvitationView, timelineOf, toViews } from './views';

export const invitationUsage = `usage:
  usher invitation get <id> [--json]
      one invitation, with its timeline
  usher invitation list --tenant <slug|id> [--status <status>] [--email <email>] [--limit <n>] [--json]
      newest first (default 50, at most 1000); status: pending, accepted, declined, revoked, expired, bounced, failed
  usher invitation revoke <id> [--reason <text>]
  usher invitation resend <id> [--expires-in-days <n>] [--json]
      a new link and email (the old link dies); a link-only invitation prints its new link instead
  usher invitation extend <id> --days <n> [--json]
      the invitation now expires <n> days from now (1-365)`;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** What a command may need: the database always; the Temporal side only for commands that change an invitation. */
export interface InvitationCliEnv {
  db: Db;
  /** Connects to Temporal on first use (reads need only the database). */
  deps(): Promise<InvitationDeps>;
}

class UsageError extends Error {}

/** The audit log's actor for changes made here, as `usher tenant …` writes them. */
const CLI_ACTOR = 'cli';

/**
 * `usher invitation …`, for an operator with database (and Temporal) access: the same commands the API runs
 * (src/invitations/manage.ts), without an API key, so without a rank ceiling; limits on resends still hold.
 * Returns the exit code: 0 done, 1 refused (unknown invitation, not pending, rate limited, invalid value), 2 usage.
 */
export async function runInvitationCommand(args: string[], env: InvitationCliEnv, io: Output = stdio): Promise<number> {
  const [verb, ...rest] = args;
  try {
    switch (verb) {
      case 'get':
        return await get(rest, env, io);
      case 'list':
        return await list(rest, env, io);
      case 'revoke':
        return await revoke(rest, env, io);
      case 'resend':
        return await resend(rest, env, io);
      case 'extend':
        return await extend(rest, env, io);
      default:
        throw new UsageError(verb ? `unknown command: invitation ${verb}` : 'no command given: invitation get|list|revoke|resend|extend');
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`usher: ${(err as Error).message}`);
      io.err(invitationUsage);
      return 2;
    }
    if (err instanceof UsherError) {
      io.err(`usher: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

type Spec = Record<string, { type: 'string' | 'boolean' }>;

function options(rest: string[], spec: Spec, required: string[] = []) {
  const { values, positionals } = parseArgs({ args: rest, options: spec, strict: true, allowPositionals: true });
  const v = values as Record<string, string | boolean | undefined>;
  for (const name of required) {
    if (v[name] === undefined || v[name] === '') throw new UsageError(`--${name} is required`);
  }
  return { values: v, positionals };
}

/** The invitation named by the one positional argument (or --id). */
function idOf(positionals: string[], values: Record<string, string | boolean | undefined>): string {
  const given = typeof values.id === 'string' ? [values.id, ...positionals] : positionals;
  if (given.length !== 1) throw new UsageError(given.length === 0 ? 'name the invitation: its id' : `one invitation id, not ${given.length} arguments`);
  return parse(idParam, given[0]);
}

function number(value: string | boolean | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsherError('invalid-request', `--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

async function existing(db: Db, id: string) {
  const invitation = await findInvitationById(db, id);
  if (!invitation) throw new UsherError('not-found', `no invitation ${id}`);
  return invitation;
}

async function viewOf(db: Db, id: string): Promise<InvitationView> {
  const [view] = await toViews(db, [await existing(db, id)]);
  return view!;
}

function printView(io: Output, v: InvitationView): void {
  const rows: [string, string | null][] = [
    ['invitation', `${v.id}  ${v.status}${v.failureReason ? ` (${v.failureReason})` : ''}`],
    ['email', v.email],
    ['role', v.role.slug],
    ['inviter', v.inviter.email],
    ['origin', v.origin],
    ['created', v.createdAt],
    ['expires', v.expiresAt],
    ['decided', v.decidedAt],
    ['reminders', String(v.remindersSent)],
    ['email sent', v.sendEmail ? 'yes' : 'no (link only)'],
    ['workflow', v.workflowId],
  ];
  for (const [label, value] of rows) if (value !== null) io.out(`${label.padEnd(12)}${value}`);
}

async function get(rest: string[], env: InvitationCliEnv, io: Output): Promise<number> {
  const { values, positionals } = options(rest, { id: { type: 'string' }, json: { type: 'boolean' } });
  const id = idOf(positionals, values);
  const invitation = await existing(env.db, id);
  const [view] = await toViews(env.db, [invitation]);
  const timeline = await timelineOf(env.db, id);
  if (values.json) {
    io.out(JSON.stringify({ ...view, tenantId: invitation.tenant_id, timeline }));
    return 0;
  }
  printView(io, view!);
  io.out(`${'tenant'.padEnd(12)}${invitation.tenant_id}`);
  io.out('timeline');
  for (const entry of timeline) io.out(`  ${entry.at}  ${entry.actor.padEnd(12)} ${entry.action}`);
  return 0;
}

async function list(rest: string[], env: InvitationCliEnv, io: Output): Promise<number> {
  const { values } = options(
    rest,
    { tenant: { type: 'string' }, status: { type: 'string' }, email: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    ['tenant'],
  );
  const tenantRef = String(values.tenant);
  const tenant = z.uuid().safeParse(tenantRef).success ? await findTenant(env.db, tenantRef) : await findTenantBySlug(env.db, tenantRef);
  if (!tenant) throw new UsherError('not-found', `no tenant ${tenantRef}`);
  const status = values.status === undefined ? undefined : parse(invitationStatus, values.status);
  const rows = await listInvitations(env.db, {
    tenantId: tenant.id,
    status,
    emailCanonical: typeof values.email === 'string' ? canonicalEmail(values.email) : undefined,
    limit: number(values.limit, 'limit', 1, 1000) ?? 50,
  });
  const views = await toViews(env.db, rows);
  if (values.json) io.out(JSON.stringify(views));
  else for (const v of views) io.out([v.id, v.status.padEnd(8), v.role.slug, v.email, v.createdAt, v.expiresAt].join('\t'));
  return 0;
}

async function revoke(rest: string[], env: InvitationCliEnv, io: Output): Promise<number> {
  const { values, positionals } = options(rest, { id: { type: 'string' }, reason: { type: 'string' } });
  const id = idOf(positionals, values);
  const { reason } = parse(revokeBody, { reason: values.reason });
  const invitation = await existing(env.db, id);
  await revokeInvitation(await env.deps(), { tenantId: invitation.tenant_id, id, actor: CLI_ACTOR, reason });
  io.out(`revoked  ${id}`);
  return 0;
}

async function resend(rest: string[], env: InvitationCliEnv, io: Output): Promise<number> {
  const { values, positionals } = options(rest, { id: { type: 'string' }, 'expires-in-days': { type: 'string' }, json: { type: 'boolean' } });
  const id = idOf(positionals, values);
  const expiresInDays = number(values['expires-in-days'], 'expires-in-days', 1, 365);
  const invitation = await existing(env.db, id);
  const { acceptUrl } = await resendInvitation(await env.deps(), { tenantId: invitation.tenant_id, id, actor: CLI_ACTOR, expiresInDays });
  const view = await viewOf(env.db, id);
  if (values.json) io.out(JSON.stringify({ ...view, ...(acceptUrl ? { acceptUrl } : {}) }));
  else {
    io.out(`resent   ${id}, expires ${view.expiresAt}`);
    if (acceptUrl) io.out(`link     ${acceptUrl}\n         (link only: give it to the invitee yourself; shown only now)`);
  }
  return 0;
}

async function extend(rest: string[], env: InvitationCliEnv, io: Output): Promise<number> {
  const { values, positionals } = options(rest, { id: { type: 'string' }, days: { type: 'string' }, json: { type: 'boolean' } }, ['days']);
  const id = idOf(positionals, values);
  const days = number(values.days, 'days', 1, 365)!;
  const invitation = await existing(env.db, id);
  await editInvitation(await env.deps(), { tenantId: invitation.tenant_id, id, actor: CLI_ACTOR, expiresInDays: days });
  const view = await viewOf(env.db, id);
  if (values.json) io.out(JSON.stringify(view));
  else io.out(`extended ${id}: expires ${view.expiresAt}`);
  return 0;
}
