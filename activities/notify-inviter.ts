import { formatDate, renderEmail } from '../src/email/templates';
import type { ActivityDeps } from './deps';
import { displayName } from '../src/lib/names';
import { loadInvitationContext } from './load';
import { sendOnce } from './send-once';

/** Tells the inviter how their invitation ended. */
export function notifyInviterActivity(deps: ActivityDeps) {
  return async function notifyInviter(input: { invitationId: string; kind: 'accepted' | 'expired' }): Promise<void> {
    const { invitation, tenant, role, inviter } = await loadInvitationContext(deps.db, input.invitationId);
    await sendOnce(deps, {
      invitation,
      sendKey: `notify-${input.kind}`,
      kind: `notice.${input.kind}`,
      to: inviter.email,
      render: () =>
        renderEmail(deps.templates, input.kind, {
          language: null,
          inviterName: displayName(inviter),
          inviteeName: invitation.email,
          inviteeEmail: invitation.email,
          tenantName: tenant.name,
          roleName: role.name,
          expiresOn: formatDate(invitation.expires_at, null),
          message: null,
          acceptUrl: null,
          headerText: null,
          footerText: null,
        }),
    });
  };
}
