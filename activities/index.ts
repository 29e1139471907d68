import { acceptInvitationActivity } from './accept-invitation';
import type { ActivityDeps } from './deps';
import { editInvitationActivity } from './edit-invitation';
import { finishInvitationActivity } from './finish-invitation';
import { grantRoleActivity } from './grant-role';
import { notifyInviterActivity } from './notify-inviter';
import { openInvitationActivity } from './open-invitation';
import { completeBatchActivity, processBatchChunkActivity } from './process-batch';
import { provisionInviteeActivity } from './provision-invitee';
import { rotateTokenActivity } from './rotate-token';
import { sendInvitationEmailActivity } from './send-invitation-email';
import { validateInviterActivity } from './validate-inviter';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/** The single steps, each also an activity of its own (histories recorded before MERGED_STEPS schedule them one by one). */
function createSteps(deps: ActivityDeps) {
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

export type Steps = ReturnType<typeof createSteps>;

/**
 * Built once by the worker over real dependencies; tests build it over theirs. No module singletons. The merged
 * activities (openInvitation, acceptInvitation) run the steps given, so a test that wraps a step (`wrapSteps`, to force
 * a failure the real one cannot produce on demand) reaches it through them too.
 */
export function createActivities(deps: ActivityDeps, wrapSteps: (steps: Steps) => Steps = (steps) => steps) {
  const steps = wrapSteps(createSteps(deps));
  return {
    ...steps,
    openInvitation: openInvitationActivity(deps, steps),
    acceptInvitation: acceptInvitationActivity(deps, steps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
