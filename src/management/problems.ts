import { problems, type ProblemCode, UsherError } from '../lib/errors';

/**
 * The management surface wants two problem codes errors.ts does not have yet: `conflict` (409) and `forbidden` (403).
 * Until they exist, the closest existing codes stand in; once they are added to `problems`, they are used as they are.
 */
const codeOr = (wanted: string, fallback: ProblemCode): ProblemCode => (wanted in problems ? (wanted as ProblemCode) : fallback);

export const CONFLICT: ProblemCode = codeOr('conflict', 'already-member');
export const FORBIDDEN: ProblemCode = codeOr('forbidden', 'role-too-high');

export const conflict = (detail: string, extra: Record<string, unknown> = {}): UsherError => new UsherError(CONFLICT, detail, extra);
export const forbidden = (detail: string): UsherError => new UsherError(FORBIDDEN, detail);

/** A 400 about one field, in the same shape zod refusals have. */
export const invalidField = (path: string, message: string): UsherError =>
  new UsherError('invalid-request', `${path}: ${message}`, { errors: [{ path, message }] });

export const invalidFields = (errors: { path: string; message: string }[]): UsherError =>
  new UsherError('invalid-request', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });

/** Unique constraints whose violation is a 409 about one field (the database, not a prior read, decides races). */
const uniqueFields: Record<string, { path: string; message: string }> = {
  tenants_slug_key: { path: 'slug', message: 'another tenant has this slug' },
  tenants_mendix_environment_uuid_key: { path: 'mendixEnvironmentUuid', message: 'another tenant has this Mendix environment' },
  tenants_quickbase_dbid_key: { path: 'quickbaseDbid', message: 'another tenant has this Quickbase dbid' },
  tenants_royalti_workspace_id_key: { path: 'royaltiWorkspaceId', message: 'another tenant has this Royalti workspace' },
  users_tenant_email_unique: { path: 'email', message: 'a user with this email already exists in this tenant' },
  roles_tenant_slug_unique: { path: 'slug', message: 'a role with this slug already exists in this tenant' },
};

interface PgError {
  code?: string;
  constraint?: string;
}

/** Runs `work`, turning unique violations into 409s that name the field. Anything else passes through. */
export async function mapConflicts<T>(work: () => Promise<T>, paths: Record<string, string> = {}): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const pg = err as PgError;
    if (pg?.code === '23505') {
      const known = pg.constraint ? uniqueFields[pg.constraint] : undefined;
      const path = known ? (paths[known.path] ?? known.path) : 'body';
      const message = known?.message ?? 'conflicts with an existing resource';
      throw conflict(`${path}: ${message}`, { errors: [{ path, message }] });
    }
    throw err;
  }
}
