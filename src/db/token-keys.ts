import type { Db } from './connect';

/**
 * Records each key id's fingerprint the first time a process uses it, and returns the ids whose recorded fingerprint
 * differs from the one given: an API and a worker configured with different secrets under one id would derive
 * different links for the same invitation.
 */
export async function registerTokenKeys(db: Db, keys: { id: string; fingerprint: string }[]): Promise<string[]> {
  await db
    .insertInto('token_keys')
    .values(keys.map((k) => ({ key_id: k.id, fingerprint: k.fingerprint })))
    .onConflict((oc) => oc.column('key_id').doNothing())
    .execute();
  const known = await db.selectFrom('token_keys').select(['key_id', 'fingerprint']).where('key_id', 'in', keys.map((k) => k.id)).execute();
  const recorded = new Map(known.map((k) => [k.key_id, k.fingerprint]));
  return keys.filter((k) => recorded.get(k.id) !== k.fingerprint).map((k) => k.id);
}
