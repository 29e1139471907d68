import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireSettings } from '../../src/main/config';

const strong = 'q7Vd0pWm3kZs9Lx2Rt5Yb8Nc1Hf4Jg6Ea';

describe('configuration', () => {
  it('has defaults that run locally', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 3000, publicBaseUrl: 'http://localhost:3000', trustProxy: false, temporal: { address: '127.0.0.1:7233', namespace: 'default' } });
    expect(config.temporal.tls).toBeUndefined();
  });

  it('stops with one line naming the bad setting', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^invalid configuration: PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'not a url' })).toThrow('invalid configuration: DATABASE_URL: DATABASE_URL must be a URL');
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/etc/usher/client.pem' })).toThrow(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    // The SDK refuses a single workflow task slot while it caches workflows: said here, not at the worker's start.
    expect(() => loadConfig({ WORKER_MAX_WORKFLOW_TASKS: '1' })).toThrow(/^invalid configuration: WORKER_MAX_WORKFLOW_TASKS: /);
    expect(loadConfig({ WORKER_MAX_WORKFLOW_TASKS: '4' }).temporal.maxWorkflowTasks).toBe(4);
    expect(() => loadConfig({ API_MAX_REQUESTS_IN_FLIGHT: '-1' })).toThrow(/^invalid configuration: API_MAX_REQUESTS_IN_FLIGHT: /);
    expect(loadConfig({ API_MAX_REQUESTS_IN_FLIGHT: '0' }).limits.requestsInFlight).toBe(0);
  });

  it('names every setting a production command is missing', () => {
    expect(() => requireSettings(loadConfig({}), ['databaseUrl', 'tokenSecret'])).toThrow('invalid configuration: DATABASE_URL, TOKEN_SECRET must be set');
    expect(() => requireSettings(loadConfig({ TOKEN_SECRET: strong }), ['tokenSecret', 'publicBaseUrl'])).toThrow('invalid configuration: PUBLIC_BASE_URL must be set');
  });

  it('reads TOKEN_SECRET as one key or as a ring whose first key signs', () => {
    const single = requireSettings(loadConfig({ TOKEN_SECRET: strong }), ['tokenSecret']);
    expect(single.tokenKeys.signing).toEqual({ id: 'default', secret: strong });
    const ring = requireSettings(loadConfig({ TOKEN_SECRET: `2026-11:${strong}X, default:${strong}` }), ['tokenSecret']);
    expect(ring.tokenKeys.signing.id).toBe('2026-11');
    expect(ring.tokenKeys.keys.map((k) => k.id)).toEqual(['2026-11', 'default']);
    expect(() => requireSettings(loadConfig({ TOKEN_SECRET: `a:${strong},a:${strong}Y` }), ['tokenSecret'])).toThrow(/key id "a" is given twice/);
    expect(() => requireSettings(loadConfig({ TOKEN_SECRET: `a:${strong},b:short` }), ['tokenSecret'])).toThrow(/TOKEN_SECRET key "b" must be at least 32 bytes/);
  });

  it('builds Temporal TLS and API-key settings only when asked', () => {
    const tls = loadConfig({ TEMPORAL_TLS_CERT: '/c.pem', TEMPORAL_TLS_KEY: '/k.pem', TEMPORAL_TLS_CA: '/ca.pem', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(tls.temporal.tls).toEqual({ certPath: '/c.pem', keyPath: '/k.pem', caPath: '/ca.pem', serverName: 'temporal.internal' });
    const cloud = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key' });
    expect(cloud.temporal).toMatchObject({ apiKey: 'key', tls: {} });
  });
});
