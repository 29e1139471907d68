import type { Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import {
  advanceDispatchCursor,
  type AuditEventToDispatch,
  auditEventsPastCursor,
  clearRedeliveryRequest,
  insertDelivery,
  purgeWebhookHistory,
  requestedRedeliveries,
  upsertWebhookEvent,
  type WebhookEndpoint,
  webhookEndpointsOf,
} from '../db/webhooks';
import { newId } from '../lib/ids';
import type { Logger } from '../lib/log';
import { startDelivery } from './delivery-client';
import { wants, webhookTypeOf } from './events';
import { buildEvent } from './payload';
import type { WebhookSettings } from './settings';

/*
 * The dispatcher turns the audit log into deliveries. Why the audit log, and why a poller in the worker:
 *   - Every state change already writes its audit row in the transaction of the change (the transactional outbox
 *     pattern, for free): an event exists if and only if its change committed. Hooking the activities or the API
 *     instead would need a second write that a crash can separate from the change, and would miss changes made
 *     elsewhere (the seed APIs, the reconciler, future code).
 *   - A cursor row (webhook_dispatch_cursor) says how far it has read, in (tx, id) order up to the oldest running
 *     transaction (see migration 2026_11_29_0005): no row is skipped, none is read twice in normal operation.
 *   - Crashes between starting workflows and moving the cursor re-read a page; the deterministic workflow ids with
 *     REJECT_DUPLICATE make that harmless, and so is a second worker running its own dispatcher (the cursor only moves
 *     forward). Delivery itself is the workflow's job, so this loop never waits on a receiver.
 */

export interface DispatcherDeps {
  db: Db;
  client: Client;
  taskQueue: string;
  settings: WebhookSettings;
  log: Logger;
}

export interface Dispatcher {
  stop(): Promise<void>;
}

const PAGE = 200;
const PURGE_EVERY_MS = 3_600_000;

/** Starts the loop; `stop()` lets the current pass finish, then resolves. */
export function startWebhookDispatcher(deps: DispatcherDeps): Dispatcher {
  let running = true;
  let wake: (() => void) | undefined;
  let lastPurge = 0;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    while (running) {
      let busy = false;
      try {
        busy = await dispatchOnce(deps);
        if (Date.now() - lastPurge > PURGE_EVERY_MS) {
          lastPurge = Date.now();
          await purgeWebhookHistory(deps.db, new Date(Date.now() - deps.settings.retentionMs));
        }
      } catch (err) {
        if (!running) break;
        deps.log.warn('webhook dispatch failed; retrying', { error: err instanceof Error ? err.message : String(err) });
        await pause(Math.max(deps.settings.pollIntervalMs, 5000));
        continue;
      }
      if (running && !busy) await pause(deps.settings.pollIntervalMs);
    }
  })();

  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
  };
}

/** One pass: a page of audit events, then the redeliveries asked for. True when there may be more to do at once. */
export async function dispatchOnce(deps: DispatcherDeps): Promise<boolean> {
  const events = await auditEventsPastCursor(deps.db, PAGE);
  if (events.length > 0) {
    await dispatchEvents(deps, events);
    const last = events.at(-1)!;
    await advanceDispatchCursor(deps.db, { tx: last.tx, id: last.id });
  }
  const redeliveries = await requestedRedeliveries(deps.db, PAGE);
  for (const r of redeliveries) {
    const run = `manual-${r.manual_runs}`;
    await startDelivery(deps.client, deps.taskQueue, deps.settings, { eventId: r.event_id, endpointId: r.endpoint_id, run });
    await clearRedeliveryRequest(deps.db, { endpointId: r.endpoint_id, eventId: r.event_id, run: r.manual_runs });
  }
  return events.length === PAGE || redeliveries.length === PAGE;
}

async function dispatchEvents(deps: DispatcherDeps, events: AuditEventToDispatch[]): Promise<void> {
  const relevant = events.filter((e) => webhookTypeOf(e.action) !== undefined);
  const endpoints = await webhookEndpointsOf(deps.db, [...new Set(relevant.map((e) => e.tenant_id))]);
  const byTenant = new Map<string, WebhookEndpoint[]>();
  for (const endpoint of endpoints) byTenant.set(endpoint.tenant_id, [...(byTenant.get(endpoint.tenant_id) ?? []), endpoint]);

  for (const audit of relevant) {
    const type = webhookTypeOf(audit.action)!;
    // Endpoints of any state count for storing the event (a disabled endpoint can have it redelivered later); only
    // enabled ones whose filter matches, and which existed when it happened, get a delivery now.
    const candidates = (byTenant.get(audit.tenant_id) ?? []).filter((e) => wants(e.event_types, type));
    if (candidates.length === 0) continue;
    const built = await buildEvent(deps.db, `evt_${newId().replaceAll('-', '')}`, type, audit);
    if (!built) continue;
    const eventId = await upsertWebhookEvent(deps.db, {
      id: built.payload.id,
      auditEventId: audit.id,
      tenantId: audit.tenant_id,
      type,
      subjectId: built.subjectId,
      payload: JSON.stringify(built.payload),
      occurredAt: audit.created_at,
    });
    for (const endpoint of candidates) {
      if (!endpoint.enabled || endpoint.created_at > audit.created_at) continue;
      await insertDelivery(deps.db, endpoint.id, eventId);
      await startDelivery(deps.client, deps.taskQueue, deps.settings, { eventId, endpointId: endpoint.id, run: 'automatic' });
    }
  }
}
