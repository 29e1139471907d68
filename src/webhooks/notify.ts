import type { Db } from '../db/connect';
import { findWebhookEndpointById, tenantOwnerEmails } from '../db/webhooks';
import type { Mailer } from '../email/mailer';
import { escapeHtml } from '../lib/html-escape';

/**
 * Tells the tenant's owners (the members holding its highest-ranked role) that an endpoint was disabled, in a plain
 * email. The Message-ID is fixed per disabling, so a retried send is recognisably the same message.
 */
export async function notifyEndpointDisabled(deps: { db: Db; mailer: Mailer; publicBaseUrl: string }, endpointId: string): Promise<number> {
  const endpoint = await findWebhookEndpointById(deps.db, endpointId);
  if (!endpoint?.disabled_at) return 0;
  const owners = await tenantOwnerEmails(deps.db, endpoint.tenant_id);
  const stamp = endpoint.disabled_at.getTime();
  for (const [i, owner] of owners.entries()) {
    const text = [
      `Usher stopped sending webhooks to ${endpoint.url}${endpoint.description ? ` (${endpoint.description})` : ''} for ${owner.tenantName}.`,
      '',
      `Its deliveries kept failing: ${endpoint.disabled_reason ?? 'too many failed attempts'}.`,
      '',
      'Once the receiver answers again with a 2xx status:',
      `  - switch the endpoint back on: PATCH ${deps.publicBaseUrl}/v1/webhook-endpoints/${endpoint.id} {"enabled": true}`,
      `  - see what failed: GET ${deps.publicBaseUrl}/v1/webhook-endpoints/${endpoint.id}/deliveries`,
      `  - send a missed event again: POST ${deps.publicBaseUrl}/v1/webhook-endpoints/${endpoint.id}/events/<eventId>/redeliver`,
      '',
      'Events that happen while it is disabled are not queued for it.',
    ].join('\n');
    await deps.mailer.send({
      to: owner.email,
      subject: `Webhook endpoint disabled: ${endpoint.url}`,
      text,
      html: `<pre style="font-family: sans-serif; white-space: pre-wrap">${escapeHtml(text)}</pre>`,
      messageId: `<webhook-disabled.${endpoint.id}.${stamp}.${i}@usher.invalid>`,
    });
  }
  return owners.length;
}
