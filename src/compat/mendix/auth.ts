import type { CompatPrincipal } from '../../db/compat-credentials';
import { verifyIdentifierSecret } from '../../db/compat-credentials';
import type { InvitationDeps } from '../../invitations/deps';
import { UsherError } from '../../lib/errors';

/** EnvironmentUUID + EnvironmentPassword; a missing or wrong pair is 401 without saying which part was wrong. */
export async function authenticate(deps: InvitationDeps, params: Record<string, unknown>): Promise<CompatPrincipal> {
  const { EnvironmentUUID: uuid, EnvironmentPassword: password } = params;
  if (typeof uuid !== 'string' || typeof password !== 'string' || uuid.trim() === '' || password === '') {
    throw new UsherError('unauthorized', 'EnvironmentUUID and EnvironmentPassword are required');
  }
  const principal = await verifyIdentifierSecret(deps.db, 'mendix-environment', uuid.trim(), password);
  if (!principal) throw new UsherError('unauthorized', 'EnvironmentUUID or EnvironmentPassword is not valid');
  return principal;
}
