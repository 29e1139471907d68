import type { ActivityDeps } from './deps';
import { editInvitationActivity } from './edit-invitation';
import { finishInvitationActivity } from './finish-invitation';
import { grantRoleActivity } from './grant-role';
import { notifyInviterActivity } from './notify-inviter';
import { completeBatchActivity, processBatchChunkActivity } from './process-batch';
import { provisionInviteeActivity } from './provision-invitee';
import { rotateTokenActivity } from './rotate-token';
import { sendInvitationEmailActivity } from './send-invitation-email';
import { validateInviterActivity } from './validate-inviter';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/** Built once by the worker over real dependencies; tests build it over theirs. No module singletons. */
export function createActivities(deps: ActivityDeps) {
  return {
    validateInviter: validateInviterActivity(deps),
    provisionInvitee: provisionInviteeActivity(deps),
    sendInvitationEmail: sendInvitationEmailActivity(deps),
    rotateToken: rotateTokenActivity(deps),
    grantRole: grantRoleActivity(deps),
    finishInvitation: finishInvitationActivity(deps),
    notifyInviter: notifyInviterActivity(deps),
    editInvitation: editInvitationActivity(deps),
    processBatchChunk: processBatchChunkActivity(deps),
    completeBatch: completeBatchActivity(deps),
    ...webhookActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
