import type { Db } from '../db/connect';
import { listRoles } from '../db/roles';

/**
 * A role a seed API names by name (Royalti's `role`): the tenant's role with that slug, else the one with that display
 * name, either without regard to case, since the originals' clients send "Admin" as readily as "admin". A name that
 * matches no role, or several, is passed on as a slug for createInvitation to refuse as unknown.
 */
export async function roleNamed(db: Db, tenantId: string, name: string): Promise<{ id: string } | { slug: string }> {
  const wanted = name.trim().toLowerCase();
  const roles = await listRoles(db, tenantId);
  const exact = roles.find((r) => r.slug === name);
  if (exact) return { id: exact.id };
  for (const field of ['slug', 'name'] as const) {
    const matches = roles.filter((r) => r[field].trim().toLowerCase() === wanted);
    if (matches.length === 1) return { id: matches[0]!.id };
    if (matches.length > 1) break;
  }
  return { slug: name };
}
