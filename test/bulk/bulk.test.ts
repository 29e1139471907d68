import { defaultPayloadConverter } from '@temporalio/common';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCommand } from '../../src/bulk/row-command';
import type { Invitation, Role, Tenant } from '../../src/db/database';
import { insertBatch } from '../../src/db/batches';
import { insertInvitation } from '../../src/db/invitations';
import { findRoleBySlug } from '../../src/db/roles';
import { findTenant } from '../../src/db/tenants';
import { insertToken } from '../../src/db/tokens';
import { type CreateInvitationCommand, firstToken, hashCommand, newInvitationRow, workflowInput } from '../../src/invitations/create-invitation';
import { BULK_PRIORITY } from '../../src/temporal/invitation-client';
import { canonicalEmail } from '../../src/lib/email-address';
import { registry } from '../../src/lib/metrics';
import { newId } from '../../src/lib/ids';
import { batchWorkflowIdFor, workflowIdFor } from '../../workflows/messages';
import { linkToken } from '../../src/invitations/tokens';
import { sentTo } from '../support/mail';
import { untilSendsSettled } from '../support/settled';
import { addMember } from '../support/tenants';
import { body, startStack, type Stack } from '../support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function untilCompleted(id: string, timeoutMs = 240_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await body(await stack.api(`/v1/invitation-batches/${id}?limit=10000`));
    if (batch.status === 'completed') return batch;
    if (Date.now() > deadline) throw new Error(`batch still ${batch.status} after ${timeoutMs} ms: ${JSON.stringify(batch.counts)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** An invitation row as a create stores it, before its workflow starts. */
function stored(cmd: CreateInvitationCommand, tenant: Tenant, role: Role) {
  return newInvitationRow(cmd, { id: newId(), tenant, role, emailCanonical: canonicalEmail(cmd.email), requestHash: hashCommand(cmd), now: new Date() });
}

/** The rows each chunk activity of a batch's workflow was given, in order, from its history. */
async function chunkBounds(batchId: string): Promise<number[][]> {
  const { events } = await stack.client.workflow.getHandle(batchWorkflowIdFor(batchId)).fetchHistory();
  return (events ?? []).flatMap((e) => {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name !== 'processBatchChunk') return [];
    const { from, to } = defaultPayloadConverter.fromPayload<{ from: number; to: number }>(scheduled.input!.payloads![0]!);
    return [[from, to]];
  });
}

/** A gauge of the worker in this process, read as /metrics would (NaN while it has no sample). */
const gauge = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? Number.NaN;

/**
 * Samples the worker's gauges (this process's registry) until stopped: what it reported while a chunk ran. The worker
 * holds its workflow tasks back then: at most one free slot, against WORKER_MAX_WORKFLOW_TASKS when idle.
 */
function watchWorkflowTaskSlots() {
  const seen = { whileChunking: 0, mostAvailableWhileChunking: 0 };
  let stop = false;
  const done = (async () => {
    while (!stop) {
      // Counted only when a chunk ran both before and after the slots were read: never across a chunk's end.
      const [before, available, after] = [await gauge('usher_bulk_chunks_running'), await gauge('usher_workflow_task_slots_available'), await gauge('usher_bulk_chunks_running')];
      if (before > 0 && after > 0) {
        seen.whileChunking++;
        seen.mostAvailableWhileChunking = Math.max(seen.mostAvailableWhileChunking, available);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    stop = true;
    await done;
    return seen;
  };
}

const countBy = (values: string[]) => {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
};

describe('bulk invitations', () => {
  it('a 1,000-row CSV with duplicates and bad lines completes with a per-row report and one email per new address', async () => {
    for (let i = 1; i <= 10; i++) await addMember(stack.db, { tenantId: stack.tenant.id, roleId: stack.tenant.roles.member, email: `member-${i}@bulk.example` });
    const lines = ['email,role,first_name,last_name,message'];
    const expected: string[] = [];
    for (let i = 1; i <= 900; i++) {
      lines.push(`new-${i}@bulk.example,member,First ${i},Last ${i},"Hello, ""friend"" ${i}"`);
      expected.push('created');
    }
    for (let i = 1; i <= 10; i++) {
      lines.push(`admin-${i}@bulk.example,admin,,,`);
      expected.push('created');
    }
    for (let i = 1; i <= 50; i++) {
      lines.push(`NEW-${i}@Bulk.Example,member,,,`);
      expected.push('duplicate');
    }
    for (let i = 1; i <= 10; i++) {
      lines.push(`member-${i}@bulk.example,member,,,`);
      expected.push('already-member');
    }
    for (let i = 1; i <= 10; i++) {
      lines.push(`not-an-address-${i},member,,,`);
      expected.push('invalid');
    }
    for (let i = 1; i <= 10; i++) {
      lines.push(`wizard-${i}@bulk.example,wizard,,,`);
      expected.push('invalid');
    }
    for (let i = 1; i <= 10; i++) {
      lines.push(`"injected-${i}@bulk.example\r\nBcc: victim@evil.example",member,,,`);
      expected.push('invalid');
    }
    expect(expected).toHaveLength(1000);

    const slots = watchWorkflowTaskSlots();
    const response = await stack.api('/v1/invitations/bulk', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: lines.join('\r\n') });
    expect(response.status).toBe(202);
    const accepted = await body(response);
    expect(accepted).toMatchObject({ status: 'running', total: 1000 });
    expect(response.headers.get('location')).toBe(`/v1/invitation-batches/${accepted.id}`);

    const batch = await untilCompleted(accepted.id);
    expect(batch).toMatchObject({ total: 1000, processed: 1000, counts: { created: 910, duplicate: 50, invalid: 30, alreadyMember: 10, failed: 0 } });
    expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(expected);
    const wizard = batch.rows.find((r: { row: number }) => r.row === 981);
    expect(wizard.reason).toMatch(/unknown role: wizard/);
    const duplicate = batch.rows.find((r: { row: number }) => r.row === 911);
    expect(duplicate.invitationId).toBe(batch.rows[0].invitationId);
    expect(await chunkBounds(accepted.id)).toEqual([[1, 250], [251, 500], [501, 750], [751, 1000]]);
    // While its chunks ran, the worker took its workflow tasks one at a time; once they are done, all ten again.
    const seen = await slots();
    expect(seen.whileChunking).toBeGreaterThan(0);
    expect(seen.mostAvailableWhileChunking).toBeLessThanOrEqual(1);
    await expect.poll(() => gauge('usher_workflow_task_slots_available'), { timeout: 60_000 }).toBe(10);

    const invited = new Set([...Array.from({ length: 900 }, (_, i) => `new-${i + 1}@bulk.example`), ...Array.from({ length: 10 }, (_, i) => `admin-${i + 1}@bulk.example`)]);
    await stack.mail.waitFor(() => stack.mail.messages().filter((m) => m.to.some((t) => invited.has(t.toLowerCase()))).length >= invited.size, 240_000);
    // A send is recorded after the SMTP server accepted it: once every row of the batch is recorded, the mailbox is final.
    await expect
      .poll(async () => {
        const ledger = await stack.db
          .selectFrom('email_messages')
          .innerJoin('invitations', 'invitations.id', 'email_messages.invitation_id')
          .select(['email_messages.status'])
          .where('invitations.batch_id', '=', accepted.id)
          .execute();
        return ledger.length >= invited.size && ledger.every((row) => row.status === 'sent');
      }, { timeout: 60_000, interval: 200 })
      .toBe(true);
    const perAddress = countBy(stack.mail.messages().flatMap((m) => m.to.map((t) => t.toLowerCase())).filter((t) => t.endsWith('@bulk.example') || t.includes('evil')));
    expect(Object.keys(perAddress).sort()).toEqual([...invited].sort());
    expect(Object.values(perAddress).every((n) => n === 1)).toBe(true);

    const rows = await stack.db.selectFrom('invitations').select(['origin', 'batch_id']).where('batch_id', '=', accepted.id).execute();
    expect(rows).toHaveLength(910);
    expect(new Set(rows.map((r) => r.origin))).toEqual(new Set(['bulk']));
  }, 300_000);

  it('a batch started before chunks grew, whose input names no chunk size, goes on in chunks of 100 rows', async () => {
    const id = newId();
    const rows = Array.from({ length: 150 }, (_, i) => ({ email: `legacy-${i + 1}@bulk.example`, sendEmail: false }));
    await insertBatch(stack.db, { id, tenantId: stack.tenant.id, inviterUserId: stack.tenant.owner.id, idempotencyKey: null, maxRank: null, rows });
    // The input the API gave a batch's workflow before: its id and size only.
    await stack.client.workflow.start('invitationBatchWorkflow', { workflowId: batchWorkflowIdFor(id), taskQueue: stack.taskQueue, args: [{ batchId: id, total: rows.length }] });
    const batch = await untilCompleted(id, 120_000);
    expect(batch).toMatchObject({ total: 150, processed: 150, counts: { created: 150 } });
    expect(await chunkBounds(id)).toEqual([[1, 100], [101, 150]]);
  });

  it('takes a JSON list, reports each row, and replays the same batch for the same Idempotency-Key', async () => {
    const payload = {
      invitations: [
        { email: 'json-1@bulk.example', role: 'admin', firstName: 'Jo' },
        { email: 'json-2@bulk.example' },
        { email: 'json-1@bulk.example' },
        { email: 42 },
        { email: 'json-3@bulk.example', unknown: 'field' },
      ],
      sendEmail: false,
    };
    const first = await stack.api('/v1/invitations/bulk', { method: 'POST', json: payload, headers: { 'idempotency-key': 'bulk-json-1' } });
    expect(first.status).toBe(202);
    const { id } = await body(first);
    const again = await stack.api('/v1/invitations/bulk', { method: 'POST', json: payload, headers: { 'idempotency-key': 'bulk-json-1' } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await body(again)).id).toBe(id);

    const batch = await untilCompleted(id);
    expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['created', 'created', 'duplicate', 'invalid', 'invalid']);
    expect(batch.rows[4].reason).toMatch(/unknown/i);
    expect(stack.mail.messages().filter((m) => m.to.some((t) => t.startsWith('json-')))).toEqual([]);
    expect(await stack.db.selectFrom('invitation_batches').select('id').where('idempotency_key', '=', 'bulk-json-1').execute()).toHaveLength(1);

    // The rows' invitations queue behind a person's (task queue priority, as the Temporal UI shows it); a single
    // create keeps the default.
    const created = await stack.api('/v1/invitations', { method: 'POST', json: { email: 'json-single@bulk.example', role: 'member', sendEmail: false } });
    const single = await body(created);
    expect(created.status, JSON.stringify(single)).toBe(201);
    const priorityOf = async (invitationId: string) => (await stack.client.workflow.getHandle(workflowIdFor(invitationId)).describe()).priority?.priorityKey;
    expect(await priorityOf(batch.rows[0].invitationId)).toBe(BULK_PRIORITY);
    expect(await priorityOf(batch.rows[1].invitationId)).toBe(BULK_PRIORITY);
    expect(await priorityOf(single.id)).toBeUndefined();
  });

  it('refuses an upload it cannot read, and stores nothing', async () => {
    const before = await stack.db.selectFrom('invitation_batches').select('id').execute();
    const unknownColumn = await stack.api('/v1/invitations/bulk', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'email,shoe_size\na@bulk.example,42\n' });
    expect(unknownColumn.status).toBe(400);
    expect((await body(unknownColumn)).detail).toMatch(/shoe_size/);
    const noEmail = await stack.api('/v1/invitations/bulk', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'role\nmember\n' });
    expect(noEmail.status).toBe(400);
    const unclosed = await stack.api('/v1/invitations/bulk', { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'email\n"a@bulk.example\n' });
    expect(unclosed.status).toBe(400);
    const tooMany = await stack.api('/v1/invitations/bulk', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: ['email', ...Array.from({ length: 10_001 }, (_, i) => `x${i}@bulk.example`)].join('\n'),
    });
    expect(tooMany.status).toBe(400);
    expect((await body(tooMany)).detail).toMatch(/at most 10000 rows/);
    const xml = await stack.api('/v1/invitations/bulk', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<x/>' });
    expect(xml.status).toBe(415);
    expect(await stack.db.selectFrom('invitation_batches').select('id').execute()).toEqual(before);
  });

  it('a person’s invitation written while a chunk writes its rows wins the address: that row is a duplicate, the rest are created', async () => {
    // A single create's transaction has stored race@ but not committed when the chunk, which did not see it, writes.
    const tenant = (await findTenant(stack.db, stack.tenant.id))!;
    const member = (await findRoleBySlug(stack.db, tenant.id, 'member'))!;
    const single = stored({ tenantId: tenant.id, email: 'race@bulk.example', inviterUserId: stack.tenant.owner.id, sendEmail: false, origin: 'api', actor: 'test' }, tenant, member);
    let commit!: () => void;
    let written!: (row: Invitation) => void;
    const isWritten = new Promise<Invitation>((resolve) => (written = resolve));
    const transaction = stack.db.transaction().execute(async (tx) => {
      written(await insertInvitation(tx, single));
      await new Promise<void>((resolve) => (commit = resolve));
    });
    const singleRow = await isWritten;

    const response = await stack.api('/v1/invitations/bulk', {
      method: 'POST',
      json: { invitations: [{ email: 'race-before@bulk.example' }, { email: 'race@bulk.example' }, { email: 'race-after@bulk.example' }], sendEmail: false },
    });
    expect(response.status).toBe(202);
    const { id } = await body(response);
    // The chunk's insert waits on the uncommitted row's place in the one-open-invitation index.
    await expect
      .poll(async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(stack.db);
        return rows[0]!.n;
      }, { timeout: 30_000, interval: 100 })
      .toBeGreaterThan(0);
    commit();
    await transaction;
    await stack.deps.workflows.start(workflowInput(singleRow, tenant));

    const batch = await untilCompleted(id, 60_000);
    expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['created', 'duplicate', 'created']);
    expect(batch.rows[1].invitationId).toBe(single.id);
    const rows = await stack.db.selectFrom('invitations').select(['email', 'batch_id']).where('email', 'like', 'race%@bulk.example').orderBy('email').execute();
    expect(rows).toEqual([
      { email: 'race-after@bulk.example', batch_id: id },
      { email: 'race-before@bulk.example', batch_id: id },
      { email: 'race@bulk.example', batch_id: null },
    ]);
  });

  it('a chunk retried after a crash starts the invitations its first attempt stored, and sends each one email', async () => {
    // The worker is away when the upload arrives; what a first attempt stored before it died is put in place by hand.
    await stack.stopWorker();
    let restarted = false;
    try {
      const response = await stack.api('/v1/invitations/bulk', { method: 'POST', json: { invitations: [{ email: 'crash-1@bulk.example' }, { email: 'crash-2@bulk.example' }] } });
      expect(response.status).toBe(202);
      const { id } = await body(response);
      const tenant = (await findTenant(stack.db, stack.tenant.id))!;
      const member = (await findRoleBySlug(stack.db, tenant.id, 'member'))!;
      const scope = { id, tenantId: tenant.id, inviterUserId: stack.tenant.owner.id, maxRank: null };
      const cmd = rowCommand(scope, 1, { email: 'crash-1@bulk.example', sendEmail: true }) as CreateInvitationCommand;
      const first = stored(cmd, tenant, member);
      await stack.db.transaction().execute(async (tx) => {
        await insertInvitation(tx, first);
        await insertToken(tx, firstToken(stack.deps.tokenKeys, first.id));
      });
      await stack.startWorker();
      restarted = true;

      const batch = await untilCompleted(id, 60_000);
      expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['created', 'created']);
      expect(batch.rows[0].invitationId).toBe(first.id);
      await stack.mail.waitFor(() => stack.mail.messages().filter((m) => m.to.some((t) => t.startsWith('crash-'))).length >= 2, 60_000);
      const sent = stack.mail.messages().flatMap((m) => m.to).filter((t) => t.startsWith('crash-')).sort();
      expect(sent).toEqual(['crash-1@bulk.example', 'crash-2@bulk.example']);
      expect(await stack.db.selectFrom('invitations').select('id').where('email', 'like', 'crash-%').execute()).toHaveLength(2);
      // The row the retry judged afresh was opened by the chunk; the one a first attempt stored, by its workflow, which
      // checked its inviter again.
      const activities = async (invitationId: string) =>
        ((await stack.client.workflow.getHandle(workflowIdFor(invitationId)).fetchHistory()).events ?? []).flatMap((e) =>
          e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
        );
      expect(await activities(batch.rows[0].invitationId)).toEqual(['openInvitation']);
      expect(await activities(batch.rows[1].invitationId)).toEqual([]);
    } finally {
      if (!restarted) await stack.startWorker();
    }
  });

  it('a chunk opens its rows itself: each invitation is provisioned and sent before its workflow starts, which only waits', async () => {
    const emails = ['opened-1@bulk.example', 'opened-2@bulk.example'];
    const response = await stack.api('/v1/invitations/bulk', { method: 'POST', json: { invitations: emails.map((email, i) => ({ email, firstName: `First ${i + 1}` })) } });
    const batch = await untilCompleted((await body(response)).id, 60_000);
    expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['created', 'created']);
    for (const [i, email] of emails.entries()) {
      const invitationId = batch.rows[i].invitationId;
      await stack.mail.waitFor(sentTo(email), 30_000);
      const row = await stack.db.selectFrom('invitations').selectAll().where('id', '=', invitationId).executeTakeFirstOrThrow();
      expect(row.invitee_user_id).not.toBeNull();
      expect(row.workflow_started_at).not.toBeNull();
      const audit = await stack.db.selectFrom('audit_events').select('action').where('invitation_id', '=', invitationId).orderBy('id').execute();
      expect(audit.map((a) => a.action)).toEqual(['invitation.created', 'email.invitation.sent']);
      // One ledger entry, sent at the first attempt; the invitee named as the row named them.
      const ledger = await stack.db.selectFrom('email_messages').select(['send_key', 'status', 'attempts']).where('invitation_id', '=', invitationId).execute();
      expect(ledger).toEqual([{ send_key: 'invitation-0', status: 'sent', attempts: 1 }]);
      const invitee = await stack.db.selectFrom('users').select(['email', 'first_name']).where('id', '=', row.invitee_user_id!).executeTakeFirstOrThrow();
      expect(invitee).toEqual({ email, first_name: `First ${i + 1}` });
      // The workflow was told so, and ran no opening activity of its own.
      const handle = stack.client.workflow.getHandle(workflowIdFor(invitationId));
      const { events } = await handle.fetchHistory();
      expect(events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
      expect(await handle.query('state')).toMatchObject({ status: 'pending' });
    }
    expect(stack.mail.messages().filter((m) => m.to.some((t) => t.startsWith('opened-')))).toHaveLength(2);

    // It lives on as any invitation: the link in the chunk's email accepts.
    const link = (await stack.mail.waitFor(sentTo(emails[0]!))).acceptLink!;
    const accepted = await stack.api('/v1/invitations/accept', { method: 'POST', key: null, json: { token: link.split('/invite/')[1] } });
    expect(accepted.status, JSON.stringify(await accepted.clone().json())).toBe(200);
    expect((await body(await stack.api(`/v1/invitations/${batch.rows[0].invitationId}`))).status).toBe('accepted');
  });

  it('a row whose email the chunk could not send is opened by its workflow: a bounce is settled there, and recorded once', async () => {
    stack.mail.behave({ rcpt: (address) => (address.startsWith('refused-') ? 550 : undefined) });
    try {
      const emails = ['handed-1@bulk.example', 'refused-1@bulk.example', 'handed-2@bulk.example', 'handed-3@bulk.example'];
      const response = await stack.api('/v1/invitations/bulk', { method: 'POST', json: { invitations: emails.map((email) => ({ email })) } });
      const batch = await untilCompleted((await body(response)).id, 60_000);
      expect(batch.rows.map((r: { result: string }) => r.result)).toEqual(['created', 'created', 'created', 'created']);
      const refusedId = batch.rows[1].invitationId;
      await expect.poll(async () => (await body(await stack.api(`/v1/invitations/${refusedId}`))).status, { timeout: 30_000 }).toBe('bounced');
      const failed = await stack.db.selectFrom('audit_events').select('action').where('invitation_id', '=', refusedId).where('action', '=', 'email.invitation.failed').execute();
      expect(failed).toHaveLength(1);
      // Whoever sent them, the others got their invitation exactly once.
      for (const email of emails.filter((e) => e.startsWith('handed-'))) {
        await stack.mail.waitFor(sentTo(email), 30_000);
        await untilSendsSettled(stack, email);
      }
      const delivered = stack.mail.messages().flatMap((m) => m.to).filter((t) => t.startsWith('handed-') || t.startsWith('refused-'));
      expect(delivered.sort()).toEqual(['handed-1@bulk.example', 'handed-2@bulk.example', 'handed-3@bulk.example']);
    } finally {
      stack.mail.behave({});
    }
  });

  it('a decision on an invitation whose workflow has not started yet is answered 503, try again, and works once it has', async () => {
    const tenant = (await findTenant(stack.db, stack.tenant.id))!;
    const member = (await findRoleBySlug(stack.db, tenant.id, 'member'))!;
    const cmd: CreateInvitationCommand = { tenantId: tenant.id, inviterUserId: stack.tenant.owner.id, actor: 'test', email: 'early@bulk.example', sendEmail: true, origin: 'api' };
    const row = stored(cmd, tenant, member);
    const token = firstToken(stack.deps.tokenKeys, row.id);
    await stack.db.transaction().execute(async (tx) => {
      await insertInvitation(tx, row);
      await insertToken(tx, token);
    });
    const link = linkToken(stack.deps.tokenKeys, token.keyId, row.id, 0);

    const early = await stack.api('/v1/invitations/accept', { method: 'POST', key: null, json: { token: link } });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('2');
    expect((await body(early)).detail).toMatch(/not ready yet/);
    const page = await stack.api(`/invite/${link}`, { method: 'POST', key: null });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);

    const invitation = (await stack.db.selectFrom('invitations').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow());
    await stack.deps.workflows.start(workflowInput(invitation, tenant));
    await expect
      .poll(async () => (await stack.api('/v1/invitations/accept', { method: 'POST', key: null, json: { token: link } })).status, { timeout: 30_000, interval: 500 })
      .toBe(200);
  });

  it('keeps one tenant’s batches from another', async () => {
    const { createTestTenant } = await import('../support/tenants');
    const other = await createTestTenant(stack.db);
    const response = await stack.api('/v1/invitations/bulk', { method: 'POST', json: { invitations: [{ email: 'mine@bulk.example' }], sendEmail: false } });
    const { id } = await body(response);
    expect((await stack.api(`/v1/invitation-batches/${id}`, { key: other.owner.apiKey })).status).toBe(404);
  });
});
