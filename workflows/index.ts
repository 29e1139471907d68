export { invitationWorkflow } from './invitation';
export { invitationBatchWorkflow } from './invitation-batch';
