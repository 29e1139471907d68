import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { LogLevel as SdkLogLevel, LogMetadata } from '@temporalio/common';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/connect';
import { countPendingInvitations, countUnstartedInvitations } from '../db/backlog';
import type { Mailer } from '../email/mailer';
import type { Logger } from '../lib/log';
import { registry, scrapedGauge } from '../lib/metrics';
import { withSpan } from '../lib/tracing';

/*
 * The process-level half of observability, wired by the CLI: the OpenTelemetry tracer provider (OTLP when configured),
 * the sink that carries workflow spans out of the sandbox, the /metrics listener, and the Temporal Runtime's logger.
 * What is counted and traced lives lower down: src/lib/metrics.ts, src/lib/tracing.ts, src/http/observe.ts and
 * src/temporal/interceptors.ts.
 */

interface Installed {
  provider: NodeTracerProvider;
  processor: SpanProcessor;
  resource: Resource;
}

let installed: Installed | undefined;

export interface TracingOptions {
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (OTLP over HTTP; `/v1/traces` is appended). */
  otlpEndpoint?: string;
  /** Tests: spans go here, one by one, instead of to a collector. */
  exporter?: SpanExporter;
}

/**
 * Registers the global tracer provider (with async-hooks context and W3C trace-context propagation) when there is
 * somewhere to send spans; otherwise tracing stays the OpenTelemetry API's no-op and costs nothing. Returns how to
 * flush and stop it.
 */
export function installTracing(options: TracingOptions): { shutdown(): Promise<void> } | undefined {
  if (!options.exporter && !options.otlpEndpoint) return undefined;
  if (installed) throw new Error('tracing is already installed in this process');
  const resource = new Resource({ [ATTR_SERVICE_NAME]: options.serviceName });
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint!.replace(/\/+$/, '')}/v1/traces` }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  installed = { provider, processor, resource };
  return {
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
    },
  };
}

/**
 * The `exporter` sink the workflow interceptors (workflows/interceptors.ts) send their spans through. Always given to
 * the worker, since the bundled workflow code always calls it; spans go to the installed provider, or nowhere.
 */
export function workflowSpanSinks() {
  const forward: SpanProcessor = {
    onStart() {},
    onEnd: (span) => installed?.processor.onEnd(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  return { exporter: makeWorkflowExporter(forward, installed?.resource ?? new Resource({ [ATTR_SERVICE_NAME]: 'usher-worker' })) };
}

/** Every SMTP send as a client span under its activity's (no recipient, no subject: ids only). */
export function tracedMailer(mailer: Mailer): Mailer {
  return {
    send: (email, options) =>
      withSpan('smtp send', { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'smtp', 'usher.email.message_id': email.messageId } }, () =>
        mailer.send(email, options),
      ),
    close: () => mailer.close(),
  };
}

/**
 * `/metrics` on its own listener (METRICS_PORT, WORKER_METRICS_PORT), bound to METRICS_HOST (loopback unless the
 * operator opens it): the numbers never share a port with the public API. `more` appends another exposition, the
 * worker's Temporal SDK metrics, so a worker is one scrape target.
 */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  log: Logger;
  more?: () => Promise<string>;
  /** /healthz answers 200 while this holds (the container's health check reads a worker's here). */
  healthy?: () => boolean;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const ok = options.healthy?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'not running' }));
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    const render = async () => {
      const own = await registry.metrics();
      const more = options.more ? await options.more().catch((err: unknown) => `# the Temporal SDK's metrics did not answer: ${String(err).replace(/\n/g, ' ')}\n`) : '';
      return own + more;
    };
    render().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        options.log.error('metrics failed', { error: err });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}

/** The Temporal SDK's Prometheus exporter, bound to loopback only, read by the worker's /metrics. */
export function sdkMetricsReader(address: string): () => Promise<string> {
  return async () => {
    const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) throw new Error(`status ${response.status}`);
    return response.text();
  };
}

/** A free port on loopback, for the SDK exporter that only this process reads. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The Temporal Runtime's logger over ours: SDK warnings and errors as they are; its info and debug (worker state,
 * every activity and workflow task) at debug, so LOG_LEVEL=debug shows them with their request id and workflow id.
 */
export function runtimeLogger(log: Logger) {
  // An activity's task token is long and, with namespace access, completes the activity: not for log lines.
  const fields = (meta?: LogMetadata) => {
    const { taskToken: _taskToken, ...rest } = meta ?? {};
    return { sdk: true, ...rest };
  };
  const at = (level: SdkLogLevel, message: string, meta?: LogMetadata) => {
    switch (level) {
      case 'ERROR':
        return log.error(message, fields(meta));
      case 'WARN':
        return log.warn(message, fields(meta));
      case 'INFO':
      case 'DEBUG':
        return log.debug(message, fields(meta));
      default:
        return undefined;
    }
  };
  return {
    log: at,
    trace: () => undefined,
    debug: (message: string, meta?: LogMetadata) => at('DEBUG', message, meta),
    info: (message: string, meta?: LogMetadata) => at('INFO', message, meta),
    warn: (message: string, meta?: LogMetadata) => at('WARN', message, meta),
    error: (message: string, meta?: LogMetadata) => at('ERROR', message, meta),
  };
}

/**
 * The API's backlog gauges, read at scrape time (at most every 15 s): pending invitations in the database and in
 * Temporal's visibility (their difference is "pending with no workflow"), and rows the reconciler has not started yet.
 */
export function registerBacklogGauges(db: Db, client: Client, options: { graceMs?: number; visibilityScope?: string } = {}): void {
  const cached = <T>(read: () => Promise<T>, ms = 15_000) => {
    let last: { at: number; value: Promise<T> } | undefined;
    return () => {
      if (!last || Date.now() - last.at > ms) last = { at: Date.now(), value: read() };
      const value = last.value;
      value.catch(() => {
        last = undefined;
      });
      return value;
    };
  };
  const pending = cached(async () => {
    const [database, temporal] = await Promise.allSettled([
      countPendingInvitations(db),
      client.connection.withDeadline(Date.now() + 5_000, () =>
        client.workflow.count(
          `WorkflowType="invitationWorkflow" AND ExecutionStatus="Running" AND InvitationStatus="pending"${options.visibilityScope ? ` AND ${options.visibilityScope}` : ''}`,
        ),
      ),
    ]);
    const samples: { labels: Record<string, string>; value: number }[] = [];
    if (database.status === 'fulfilled') samples.push({ labels: { source: 'database' }, value: database.value });
    if (temporal.status === 'fulfilled') samples.push({ labels: { source: 'temporal' }, value: temporal.value.count });
    return samples;
  });
  scrapedGauge({
    name: 'usher_invitations_pending',
    help: 'Pending invitations as the database (source="database") and Temporal (source="temporal", running invitation workflows) count them.',
    labelNames: ['source'],
    read: pending,
  });
  scrapedGauge({
    name: 'usher_invitations_unstarted',
    help: 'Invitations written but without a started workflow for longer than the reconciler waits (it should start them).',
    read: cached(async () => [{ value: await countUnstartedInvitations(db, new Date(Date.now() - (options.graceMs ?? 120_000))) }]),
  });
}

export interface ObservabilitySettings {
  metrics: { host: string; apiPort?: number; workerPort?: number };
  otlpEndpoint?: string;
}

/** The API's tracing and /metrics (with the backlog gauges); `stop` flushes spans and closes the listener. */
export async function observeApi(settings: ObservabilitySettings, db: Db, client: Client, log: Logger): Promise<{ stop(): Promise<void> }> {
  const tracing = installTracing({ serviceName: 'usher-api', otlpEndpoint: settings.otlpEndpoint });
  let server: Server | undefined;
  if (settings.metrics.apiPort) {
    registerBacklogGauges(db, client);
    server = await startMetricsServer({ host: settings.metrics.host, port: settings.metrics.apiPort, log });
    log.info('metrics listening', { host: settings.metrics.host, port: settings.metrics.apiPort });
  }
  return { stop: () => stopBoth(server, tracing) };
}

/**
 * The worker's tracing and /metrics. Call before the Temporal Runtime is installed: the SDK's Prometheus exporter
 * binds to `sdkMetricsAddress` (loopback, a free port), which the worker's /metrics reads and appends.
 */
export async function observeWorker(
  settings: ObservabilitySettings,
  log: Logger,
): Promise<{ sdkMetricsAddress?: string; healthy(check: () => boolean): void; stop(): Promise<void> }> {
  const tracing = installTracing({ serviceName: 'usher-worker', otlpEndpoint: settings.otlpEndpoint });
  if (!settings.metrics.workerPort) return { healthy: () => undefined, stop: () => stopBoth(undefined, tracing) };
  const sdkMetricsAddress = `127.0.0.1:${await freeLoopbackPort()}`;
  let check = () => false;
  const server = await startMetricsServer({
    host: settings.metrics.host,
    port: settings.metrics.workerPort,
    log,
    more: sdkMetricsReader(sdkMetricsAddress),
    healthy: () => check(),
  });
  log.info('metrics listening', { host: settings.metrics.host, port: settings.metrics.workerPort });
  return {
    sdkMetricsAddress,
    healthy(next) {
      check = next;
    },
    stop: () => stopBoth(server, tracing),
  };
}

async function stopBoth(server: Server | undefined, tracing: { shutdown(): Promise<void> } | undefined): Promise<void> {
  if (server) {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  await tracing?.shutdown();
}
