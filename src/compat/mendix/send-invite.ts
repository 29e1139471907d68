import { z } from 'zod';
import { findUserByEmail } from '../../db/users';
import type { InvitationDeps } from '../../invitations/deps';
import { emailAddress } from '../../lib/email-address';
import { UsherError } from '../../lib/errors';
import { inviteOrResend } from '../repeat';
import { authenticate } from './auth';

export const MENDIX_ORIGIN = 'mendix';

const required = (name: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined || issue.input === null ? `${name} is required` : `${name} must be a string`) })
    .trim()
    .min(1, { message: `${name} is required` });

const sendInviteParams = z.object(
  {
    InviteeEmailAddress: required('InviteeEmailAddress').pipe(emailAddress),
    InviterEmailAddress: required('InviterEmailAddress').pipe(emailAddress),
    RoleUUID: required('RoleUUID').pipe(z.guid({ message: 'RoleUUID must be a UUID' })),
  },
  { message: 'send the SendInvite parameters as a JSON object or form fields' },
);

/**
 * SendInvite, whichever way it arrived (JSON, form or SOAP): EnvironmentUUID + EnvironmentPassword (a
 * `mendix-environment` credential) name and authenticate the tenant; the inviter is the tenant's user with
 * InviterEmailAddress, whose membership and rank createInvitation checks; RoleUUID is the role's id. Inviting someone
 * whose invitation is open succeeds too: that invitation is sent again, within the resend limits. Returns nothing, as
 * SendInvite does; every refusal is thrown as an UsherError.
 */
export async function sendInvite(deps: InvitationDeps, params: Record<string, unknown>): Promise<void> {
  const principal = await authenticate(deps, params);
  const parsed = sendInviteParams.safeParse(params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const message = issue.message.startsWith(field) || !field ? issue.message : `${field}: ${issue.message}`;
    throw new UsherError('invalid-request', message, { field: field || undefined });
  }
  const { InviteeEmailAddress, InviterEmailAddress, RoleUUID } = parsed.data;

  const inviter = await findUserByEmail(deps.db, principal.tenantId, InviterEmailAddress);
  if (!inviter) {
    throw new UsherError('inviter-not-allowed', 'InviterEmailAddress is not a user with access to this app', { field: 'InviterEmailAddress' });
  }
  await inviteOrResend(deps, {
    tenantId: principal.tenantId,
    email: InviteeEmailAddress,
    role: { id: RoleUUID },
    inviterUserId: inviter.id,
    sendEmail: true,
    origin: MENDIX_ORIGIN,
    actor: `mendix-environment:${principal.credentialId}`,
  });
}
