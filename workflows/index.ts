export { invitationWorkflow } from './invitation';
export { invitationBatchWorkflow } from './invitation-batch';
export { webhookDeliveryWorkflow } from './webhook-delivery';
