import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { Db } from '../db/connect';
import { findTenant, findTenantBySlug, listTenants } from '../db/tenants';
import { findUserByEmail } from '../db/users';
import { parse } from '../http/body';
import { emailAddress } from '../lib/email-address';
import { UsherError } from '../lib/errors';
import { createApiKeyFor, OWNER_KEY_GRANT, revokeApiKey } from './api-keys/service';
import { resourceId } from './schemas';
import { createTenantBody } from './tenants/schemas';
import { createTenant } from './tenants/service';

export const managementUsage = `usage:
  usher tenant create --slug <slug> --name <name> --owner-email <email> [--owner-first-name <n>] [--owner-last-name <n>] [--json]
      a tenant with roles owner > admin > member, its owner, and the owner's first API key (printed once)
  usher tenant list [--json]
  usher api-key create --tenant <slug|id> --email <user email> [--name <name>] [--json]
      a new key for a user of the tenant (printed once)
  usher api-key revoke --id <key id>`;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

class UsageError extends Error {}

const CLI_ACTOR = 'cli';

/**
 * `usher tenant …` and `usher api-key …`, for an operator with database access (no API, no admin token needed).
 * Returns the exit code: 0 done, 1 refused (duplicate, unknown tenant or user, invalid value), 2 usage.
 */
export async function runManagementCommand(args: string[], db: Db, io: Output = stdio): Promise<number> {
  const [noun, verb, ...rest] = args;
  try {
    const command = `${noun ?? ''} ${verb ?? ''}`.trim();
    switch (command) {
      case 'tenant create':
        return await tenantCreate(rest, db, io);
      case 'tenant list':
        return await tenantList(rest, db, io);
      case 'api-key create':
        return await apiKeyCreate(rest, db, io);
      case 'api-key revoke':
        return await apiKeyRevoke(rest, db, io);
      default:
        throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`usher: ${(err as Error).message}`);
      io.err(managementUsage);
      return 2;
    }
    if (err instanceof UsherError) {
      io.err(`usher: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function options<T extends Record<string, { type: 'string' | 'boolean' }>>(rest: string[], spec: T, required: (keyof T & string)[]) {
  const values = parseArgs({ args: rest, options: spec, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
  for (const name of required) {
    if (values[name] === undefined || values[name] === '') throw new UsageError(`--${name} is required`);
  }
  return values;
}

async function tenantCreate(rest: string[], db: Db, io: Output): Promise<number> {
  const o = options(
    rest,
    {
      slug: { type: 'string' },
      name: { type: 'string' },
      'owner-email': { type: 'string' },
      'owner-first-name': { type: 'string' },
      'owner-last-name': { type: 'string' },
      json: { type: 'boolean' },
    },
    ['slug', 'name', 'owner-email'],
  );
  const input = parse(createTenantBody, {
    slug: o.slug,
    name: o.name,
    owner: { email: o['owner-email'], firstName: o['owner-first-name'], lastName: o['owner-last-name'] },
  });
  const { tenant, owner, apiKey } = await createTenant(db, { ...input, actor: CLI_ACTOR });
  if (o.json) {
    io.out(JSON.stringify({ tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name }, owner: { id: owner.id, email: owner.email }, apiKey: { id: apiKey.id, secret: apiKey.secret } }));
  } else {
    io.out(`tenant   ${tenant.name} (${tenant.slug}) ${tenant.id}`);
    io.out(`roles    owner > admin > member`);
    io.out(`owner    ${owner.email} ${owner.id}`);
    io.out(`api key  ${apiKey.secret}`);
    io.out(`         (id ${apiKey.id}; shown only now: store it)`);
  }
  return 0;
}

async function tenantList(rest: string[], db: Db, io: Output): Promise<number> {
  const o = options(rest, { json: { type: 'boolean' } }, []);
  const tenants = await listTenants(db, { limit: 10_000 });
  if (o.json) io.out(JSON.stringify(tenants.map((t) => ({ id: t.id, slug: t.slug, name: t.name, createdAt: t.created_at.toISOString() }))));
  else for (const t of tenants) io.out(`${t.slug}\t${t.id}\t${t.name}`);
  return 0;
}

async function apiKeyCreate(rest: string[], db: Db, io: Output): Promise<number> {
  const o = options(rest, { tenant: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } }, ['tenant', 'email']);
  const tenantRef = String(o.tenant);
  const tenant = z.uuid().safeParse(tenantRef).success ? await findTenant(db, tenantRef) : await findTenantBySlug(db, tenantRef);
  if (!tenant) throw new UsherError('not-found', `no tenant ${tenantRef}`);
  const email = parse(emailAddress, o.email);
  const user = await findUserByEmail(db, tenant.id, email);
  if (!user) throw new UsherError('not-found', `no user ${email} in tenant ${tenant.slug}`);
  const name = typeof o.name === 'string' && o.name.trim() ? o.name.trim().slice(0, 100) : 'cli';
  const key = await createApiKeyFor(db, { tenantId: tenant.id, userId: user.id, name, actor: CLI_ACTOR, ...OWNER_KEY_GRANT });
  if (o.json) io.out(JSON.stringify({ id: key.id, tenant: tenant.slug, email: user.email, secret: key.secret }));
  else {
    io.out(`api key  ${key.secret}`);
    io.out(`         (id ${key.id}, for ${user.email} in ${tenant.slug}; shown only now: store it)`);
  }
  return 0;
}

async function apiKeyRevoke(rest: string[], db: Db, io: Output): Promise<number> {
  const o = options(rest, { id: { type: 'string' } }, ['id']);
  const id = parse(resourceId, o.id);
  const key = await revokeApiKey(db, { id, actor: CLI_ACTOR });
  io.out(`revoked  ${key.id} (${key.name}, ${key.user_email}) at ${key.revoked_at?.toISOString()}`);
  return 0;
}
