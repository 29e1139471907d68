/** Every event type an endpoint can receive, in the order the documentation lists them. */
export const webhookEventTypes = [
  'invitation.created',
  'invitation.sent',
  'invitation.reminded',
  'invitation.edited',
  'invitation.resent',
  'invitation.accepted',
  'invitation.declined',
  'invitation.revoked',
  'invitation.expired',
  'invitation.bounced',
  'invitation.failed',
  'membership.granted',
  'batch.completed',
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

/**
 * The audit log's actions that are webhook events. Anything else (management changes, notices to inviters, the
 * webhook endpoints' own audit lines) is not delivered.
 */
const fromAudit: Record<string, WebhookEventType> = {
  'invitation.created': 'invitation.created',
  'email.invitation.sent': 'invitation.sent',
  'email.reminder.sent': 'invitation.reminded',
  'invitation.edited': 'invitation.edited',
  'invitation.resent': 'invitation.resent',
  'invitation.accepted': 'invitation.accepted',
  'invitation.declined': 'invitation.declined',
  'invitation.revoked': 'invitation.revoked',
  'invitation.expired': 'invitation.expired',
  'invitation.bounced': 'invitation.bounced',
  'invitation.failed': 'invitation.failed',
  'role.granted': 'membership.granted',
  'batch.completed': 'batch.completed',
};

export const webhookTypeOf = (auditAction: string): WebhookEventType | undefined => fromAudit[auditAction];

/** An endpoint's filter: empty means every type. */
export const wants = (eventTypes: readonly string[], type: string): boolean => eventTypes.length === 0 || eventTypes.includes(type);

/** The invitation status an event of this type reports; undefined for types that are not about one invitation's status. */
export function statusAfter(type: WebhookEventType): string | undefined {
  switch (type) {
    case 'invitation.created':
    case 'invitation.sent':
    case 'invitation.reminded':
    case 'invitation.edited':
    case 'invitation.resent':
      return 'pending';
    case 'invitation.accepted':
    case 'invitation.declined':
    case 'invitation.revoked':
    case 'invitation.expired':
    case 'invitation.bounced':
    case 'invitation.failed':
      return type.slice('invitation.'.length);
    default:
      return undefined;
  }
}
