import { readFile } from 'node:fs/promises';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTracing } from '../../src/main/observability';
import { sentTo } from '../support/mail';
import { type ObservedStack, sample, scrape, startObservedStack } from './stack';

/**
 * Traces, logs and metrics of one real stack (API, worker, Temporal, PostgreSQL, SMTP), observed as an operator would:
 * spans in an in-memory exporter standing in for the collector, every log line, and /metrics.
 */
const exporter = new InMemorySpanExporter();
// Before anything else: the tracer provider must be global before the first span.
const tracing = installTracing({ serviceName: 'usher-test', exporter });
const spans = () => exporter.getFinishedSpans();

let stack: ObservedStack;
const tokens: string[] = [];

beforeAll(async () => {
  stack = await startObservedStack({ rejectRecipient: (address) => address.endsWith('@bounce.example') });
});
afterAll(async () => {
  await stack?.stop();
  await tracing?.shutdown();
});

const tokenOf = (link: string) => link.slice(link.lastIndexOf('/') + 1);

/** The span's ancestors, nearest first, as far as they are in this trace. */
function ancestors(span: ReadableSpan, all: ReadableSpan[]): string[] {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  const names: string[] = [];
  for (let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; parent; parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined) {
    names.push(parent.name);
  }
  return names;
}

async function invite(email: string, requestId: string): Promise<{ id: string }> {
  const response = await stack.api('/v1/invitations', { method: 'POST', json: { email, role: 'member' }, headers: { 'x-request-id': requestId } });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string };
}

async function statusOf(id: string): Promise<string> {
  return ((await (await stack.api(`/v1/invitations/${id}`)).json()) as { status: string }).status;
}

describe('observability', () => {
  it('one create is one trace: the HTTP request, the workflow start, the workflow, its activities and the SMTP send', async () => {
    await invite('traced@example.com', 'obs-create-1');
    const email = await stack.mail.waitFor(sentTo('traced@example.com'));
    tokens.push(tokenOf(email.acceptLink!));
    // The workflow's own span ends with the workflow: accepting ends it.
    const accepted = await fetch(email.acceptLink!, {
      method: 'POST',
      body: new URLSearchParams({ decision: 'accept' }),
      redirect: 'manual',
      headers: { 'x-request-id': 'obs-accept-1' },
    });
    expect([200, 303]).toContain(accepted.status);
    await expect.poll(() => spans().some((s) => s.name === 'RunWorkflow:invitationWorkflow'), { timeout: 30_000 }).toBe(true);

    const root = spans().find((s) => s.name === 'POST /v1/invitations');
    expect(root).toBeDefined();
    expect(root!.parentSpanId).toBeUndefined();
    expect(root!.attributes).toMatchObject({ 'http.route': '/v1/invitations', 'http.response.status_code': 201, 'usher.request_id': 'obs-create-1' });
    const trace = spans().filter((s) => s.spanContext().traceId === root!.spanContext().traceId);
    const names = trace.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /v1/invitations',
        'StartWorkflow:invitationWorkflow',
        'RunWorkflow:invitationWorkflow',
        'StartActivity:openInvitation',
        'RunActivity:openInvitation',
        'smtp send',
      ]),
    );
    // One chain from the SMTP send up to the request, through the worker and the workflow sandbox.
    const smtp = trace.find((s) => s.name === 'smtp send')!;
    expect(ancestors(smtp, trace)).toEqual([
      'RunActivity:openInvitation',
      'StartActivity:openInvitation',
      'RunWorkflow:invitationWorkflow',
      'StartWorkflow:invitationWorkflow',
      'POST /v1/invitations',
    ]);
    expect(new Set(trace.map((s) => s.resource.attributes['service.name']))).toEqual(new Set(['usher-test']));

    // The accept is its own trace, from the invitee's request into the workflow's update and its activities.
    const acceptRoot = spans().find((s) => s.name === 'POST /invite/:token');
    expect(acceptRoot).toBeDefined();
    const acceptNames = spans()
      .filter((s) => s.spanContext().traceId === acceptRoot!.spanContext().traceId)
      .map((s) => s.name);
    expect(acceptNames).toEqual(expect.arrayContaining(['StartWorkflowUpdate:accept', 'HandleUpdate:accept', 'RunActivity:acceptInvitation']));

    // No span names, attributes or events hold the link's token.
    const everything = JSON.stringify(spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events })));
    for (const token of tokens) expect(everything).not.toContain(token);
  });

  it('carries the request id into the workflow and activity log lines, next to the trace id; no line holds a token', async () => {
    const created = stack.lines.find((l) => l.msg === 'invitation created' && l.requestId === 'obs-create-1');
    expect(created).toBeDefined();
    const root = spans().find((s) => s.name === 'POST /v1/invitations')!;
    expect(created!.traceId).toBe(root.spanContext().traceId);

    const fromCreate = () => stack.lines.filter((l) => l.requestId === 'obs-create-1');
    // The SDK's lines reach the logger through a buffer of 100 ms.
    await expect.poll(() => fromCreate().some((l) => l.msg === 'Workflow completed'), { timeout: 5_000 }).toBe(true);
    // The SDK's own lines for the activities the create scheduled, with the workflow they belong to.
    expect(fromCreate()).toContainEqual(
      expect.objectContaining({ msg: 'Activity completed', activityType: 'openInvitation', sdk: true, workflowId: expect.stringMatching(/^invitation-/) }),
    );
    // And the workflow's: its run was started by the create.
    expect(fromCreate()).toContainEqual(expect.objectContaining({ msg: 'Workflow completed', sdk: true, workflowType: 'invitationWorkflow' }));
    // What the accept's update scheduled carries the accept's request id.
    expect(stack.lines).toContainEqual(expect.objectContaining({ msg: 'Activity completed', activityType: 'acceptInvitation', requestId: 'obs-accept-1' }));

    const all = JSON.stringify(stack.lines);
    for (const token of tokens) expect(all).not.toContain(token);
    expect(all).not.toContain(stack.tenant.owner.apiKey);
  });

  it('counts requests by route pattern, invitations by origin and final status, emails, bounces, retries and batch rows', async () => {
    // A bounce: the mail server refuses the recipient for good.
    const bounced = await invite('nobody@bounce.example', 'obs-bounce');
    await expect.poll(() => statusOf(bounced.id), { timeout: 30_000 }).toBe('bounced');
    // A retry: the mail server is unavailable for the first attempt.
    let refusals = 0;
    stack.mail.behave({ rcpt: (address) => (address === 'later@example.com' && refusals++ === 0 ? 451 : undefined) });
    await invite('later@example.com', 'obs-retry');
    await stack.mail.waitFor(sentTo('later@example.com'), 60_000);
    stack.mail.behave({});
    // A revoke, and a bulk upload with a good row and a bad one.
    const revoked = await invite('revoked@example.com', 'obs-revoke');
    expect((await stack.api(`/v1/invitations/${revoked.id}/revoke`, { method: 'POST', json: {} })).status).toBe(200);
    const bulk = await stack.api('/v1/invitations/bulk', { method: 'POST', json: { invitations: [{ email: 'bulk-1@example.com' }, { email: 'not an address' }] } });
    expect(bulk.status).toBe(202);
    const batchId = ((await bulk.json()) as { id: string }).id;
    await expect
      .poll(async () => ((await (await stack.api(`/v1/invitation-batches/${batchId}`)).json()) as { status: string }).status, { timeout: 60_000 })
      .toBe('completed');

    await stack.mail.waitFor(sentTo('bulk-1@example.com'), 60_000);
    await expect.poll(async () => sample(await scrape(stack.metricsUrl), 'usher_batch_rows_total', { result: 'invalid' }), { timeout: 10_000 }).toBe(1);
    // Counted when the send activity returns, a moment after the mail server has the message: traced, later, bulk-1
    // (revoked's may have been skipped, revoked before its turn).
    await expect.poll(async () => sample(await scrape(stack.metricsUrl), 'usher_emails_sent_total', { kind: 'invitation' }), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const m = await scrape(stack.metricsUrl);
    expect(sample(m, 'usher_http_request_duration_seconds_count', { method: 'POST', route: '/v1/invitations', status: '201' })).toBe(4);
    expect(sample(m, 'usher_http_request_duration_seconds_count', { method: 'POST', route: '/invite/:token' })).toBe(1);
    expect(sample(m, 'usher_http_request_duration_seconds_count', { method: 'GET', route: '/v1/invitations/:id', status: '200' })).toBeGreaterThan(0);
    expect(sample(m, 'usher_invitations_created_total', { origin: 'api' })).toBe(4);
    expect(sample(m, 'usher_invitations_created_total', { origin: 'bulk' })).toBe(1);
    expect(sample(m, 'usher_invitations_finished_total', { status: 'accepted' })).toBe(1);
    expect(sample(m, 'usher_invitations_finished_total', { status: 'bounced' })).toBe(1);
    expect(sample(m, 'usher_invitations_finished_total', { status: 'revoked' })).toBe(1);
    expect(sample(m, 'usher_emails_bounced_total', { kind: 'invitation' })).toBe(1);
    expect(sample(m, 'usher_email_send_errors_total', { kind: 'invitation', final: 'false' })).toBe(1);
    expect(sample(m, 'usher_email_retries_total', { kind: 'invitation' })).toBe(1);
    expect(sample(m, 'usher_batch_rows_total', { result: 'created' })).toBe(1);
    // The Temporal SDK's worker metrics, appended.
    expect([...m.keys()].some((k) => k.startsWith('temporal_'))).toBe(true);
    expect(sample(m, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBeGreaterThan(0);
    // Labels are patterns and fixed sets: no token, no id, no address.
    const keys = [...m.keys()].join('\n');
    for (const token of tokens) expect(keys).not.toContain(token);
    expect(keys).not.toContain(bounced.id);
    expect(keys).not.toContain('@');

    // The backlog: pending in the database and in Temporal agree (bulk-1 and later are still pending).
    await expect
      .poll(async () => {
        const now = await scrape(stack.metricsUrl);
        return [sample(now, 'usher_invitations_pending', { source: 'database' }), sample(now, 'usher_invitations_pending', { source: 'temporal' })];
      }, { timeout: 40_000, interval: 1_000 })
      .toEqual([2, 2]);
    expect(sample(await scrape(stack.metricsUrl), 'usher_invitations_unstarted')).toBe(0);
  });

  it('the Grafana dashboard and the alert rules in docs/operating.md use only metrics this stack exports', async () => {
    const dashboard = JSON.parse(await readFile('docs/grafana-dashboard.json', 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
    const operating = await readFile('docs/operating.md', 'utf8');
    const rules = [...operating.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    const used = new Set([...`${exprs.join('\n')}\n${rules}`.matchAll(/\b((?:usher|temporal|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(20);

    // Declared families (a labelled counter nothing has counted yet has no sample, only its TYPE) and their series.
    const text = await (await fetch(stack.metricsUrl)).text();
    const exported = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name!);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
    }
    for (const key of (await scrape(stack.metricsUrl)).keys()) exported.add(key.split('{')[0]!);
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });
});
