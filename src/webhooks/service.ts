import { recordAudit } from '../db/audit';
import type { Db } from '../db/connect';
import {
  countWebhookEndpoints,
  deleteWebhookEndpoint,
  findTenantWebhookEvent,
  findWebhookEndpoint,
  insertWebhookEndpoint,
  listWebhookAttempts,
  listWebhookEndpoints,
  lockWebhookEndpoint,
  requestRedelivery,
  updateWebhookEndpoint,
  type WebhookAttempt,
  type WebhookEndpoint,
  type WebhookEndpointChanges,
} from '../db/webhooks';
import { UsherError } from '../lib/errors';
import { newId } from '../lib/ids';
import { wants } from './events';
import type { WebhookSettings } from './settings';
import { newWebhookSecret } from './signing';
import { targetProblem } from './target';

/** Plenty for one product's back ends; a bound, so one tenant cannot fan every event out a thousand times. */
export const MAX_ENDPOINTS_PER_TENANT = 20;

export interface WebhookServiceDeps {
  db: Db;
  settings: WebhookSettings;
  clock: () => Date;
}

const invalidUrl = (message: string) => new UsherError('invalid-request', `url: ${message}`, { errors: [{ path: 'url', message }] });
const notFound = () => new UsherError('not-found', 'no such webhook endpoint');

async function checkedUrl(settings: WebhookSettings, raw: string): Promise<string> {
  const problem = await targetProblem(raw, settings);
  if (problem) throw invalidUrl(problem);
  return new URL(raw).href;
}

export interface CreateEndpointInput {
  url: string;
  description?: string | null;
  eventTypes?: string[];
  enabled?: boolean;
}

/** A new endpoint and its secret, which this answer is the only one to show. */
export async function createEndpoint(deps: WebhookServiceDeps, tenantId: string, input: CreateEndpointInput, actor: string): Promise<WebhookEndpoint> {
  const url = await checkedUrl(deps.settings, input.url);
  return deps.db.transaction().execute(async (tx) => {
    if ((await countWebhookEndpoints(tx, tenantId)) >= MAX_ENDPOINTS_PER_TENANT) {
      throw new UsherError('conflict', `a tenant may have at most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints`);
    }
    const endpoint = await insertWebhookEndpoint(tx, {
      id: newId(),
      tenantId,
      url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? [],
      enabled: input.enabled ?? true,
      secret: newWebhookSecret(),
    });
    await recordAudit(tx, {
      tenantId,
      invitationId: null,
      actor,
      action: 'webhook-endpoint.created',
      data: { endpointId: endpoint.id, url, eventTypes: endpoint.event_types, enabled: endpoint.enabled },
    });
    return endpoint;
  });
}

export async function getEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findWebhookEndpoint(db, tenantId, id);
  if (!endpoint) throw notFound();
  return endpoint;
}

export function listEndpoints(db: Db, tenantId: string, window: { limit: number; after?: { createdAt: Date; id: string } }): Promise<WebhookEndpoint[]> {
  return listWebhookEndpoints(db, tenantId, window);
}

export interface UpdateEndpointInput {
  url?: string;
  description?: string | null;
  eventTypes?: string[];
  enabled?: boolean;
}

/** Changes what was given. Switching an endpoint on (again) clears its failure record, so it gets a fresh start. */
export async function updateEndpoint(deps: WebhookServiceDeps, tenantId: string, id: string, input: UpdateEndpointInput, actor: string): Promise<WebhookEndpoint> {
  const url = input.url === undefined ? undefined : await checkedUrl(deps.settings, input.url);
  return deps.db.transaction().execute(async (tx) => {
    const before = await lockWebhookEndpoint(tx, tenantId, id);
    if (!before) throw notFound();
    const now = deps.clock();
    const changes: WebhookEndpointChanges = { updated_at: now };
    if (url !== undefined) changes.url = url;
    if (input.description !== undefined) changes.description = input.description;
    if (input.eventTypes !== undefined) changes.event_types = input.eventTypes;
    if (input.enabled === true && !before.enabled) {
      Object.assign(changes, { enabled: true, disabled_at: null, disabled_reason: null, consecutive_failures: 0, failing_since: null });
    } else if (input.enabled === false && before.enabled) {
      Object.assign(changes, { enabled: false, disabled_at: now, disabled_reason: 'disabled over the API' });
    }
    const after = await updateWebhookEndpoint(tx, id, changes);
    const fields = Object.keys(input).filter((k) => input[k as keyof UpdateEndpointInput] !== undefined);
    await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'webhook-endpoint.updated', data: { endpointId: id, fields, enabled: after.enabled } });
    return after;
  });
}

export async function deleteEndpoint(db: Db, tenantId: string, id: string, actor: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (!(await deleteWebhookEndpoint(tx, tenantId, id))) throw notFound();
    await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'webhook-endpoint.deleted', data: { endpointId: id } });
  });
}

/**
 * A new secret, returned once. The one it replaces keeps signing alongside it for `graceMs` (each request then
 * carries both signatures), so receivers can switch at their pace; a secret rotated out earlier stops at once.
 */
export async function rotateSecret(deps: WebhookServiceDeps, tenantId: string, id: string, graceMs: number, actor: string): Promise<WebhookEndpoint> {
  return deps.db.transaction().execute(async (tx) => {
    const before = await lockWebhookEndpoint(tx, tenantId, id);
    if (!before) throw notFound();
    const now = deps.clock();
    const after = await updateWebhookEndpoint(tx, id, {
      secret: newWebhookSecret(),
      previous_secret: graceMs > 0 ? before.secret : null,
      previous_secret_expires_at: graceMs > 0 ? new Date(now.getTime() + graceMs) : null,
      updated_at: now,
    });
    await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'webhook-endpoint.secret-rotated', data: { endpointId: id, graceSeconds: Math.round(graceMs / 1000) } });
    return after;
  });
}

export async function listDeliveries(
  db: Db,
  tenantId: string,
  id: string,
  q: { limit: number; beforeId?: number; eventId?: string },
): Promise<WebhookAttempt[]> {
  await getEndpoint(db, tenantId, id);
  return listWebhookAttempts(db, { endpointId: id, ...q });
}

/**
 * Asks for the event to be delivered to the endpoint once more, as a new run under the same webhook-id; the worker's
 * dispatcher starts it within a poll. The endpoint must be enabled and want the event's type.
 */
export async function redeliver(db: Db, tenantId: string, id: string, eventId: string, actor: string): Promise<{ run: string }> {
  return db.transaction().execute(async (tx) => {
    const endpoint = await lockWebhookEndpoint(tx, tenantId, id);
    if (!endpoint) throw notFound();
    const event = await findTenantWebhookEvent(tx, tenantId, eventId);
    if (!event) throw new UsherError('not-found', 'no such event for this tenant (events are kept for 30 days)');
    if (!endpoint.enabled) throw new UsherError('conflict', 'the endpoint is disabled: enable it first (PATCH {"enabled": true})');
    if (!wants(endpoint.event_types, event.type)) throw new UsherError('conflict', `the endpoint does not receive ${event.type} events`);
    const run = await requestRedelivery(tx, { endpointId: id, eventId });
    await recordAudit(tx, { tenantId, invitationId: null, actor, action: 'webhook-endpoint.redelivery-requested', data: { endpointId: id, eventId, run } });
    return { run: `manual-${run}` };
  });
}
