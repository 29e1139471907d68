import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Activities, ActivityDeps } from '../../activities/index';
import { createLogger } from '../../src/lib/log';
import { loadConfig } from '../../src/main/config';
import { createWorker, quietRuntime } from '../../src/main/worker';
import { connectClient, type TemporalConnectionSettings, temporalConnectionOptions } from '../../src/temporal/connect';
import { type InvitationState, type InvitationWorkflowInput, workflowIdFor } from '../../workflows/messages';

// grpc-js (the client's transport) says why a channel failed only in its subchannel trace, which it reads from the
// environment when it loads: switched on before the imports, caught by the logger set in beforeAll.
vi.hoisted(() => {
  const already = process.env.GRPC_NODE_TRACE ?? process.env.GRPC_TRACE;
  process.env.GRPC_NODE_TRACE = already ? `${already},subchannel` : 'subchannel';
});

/**
 * There is no Temporal Cloud here, and the dev server only speaks plaintext. So this file puts a TLS-terminating
 * proxy of its own in front of the dev server: it holds a server certificate for `temporal.usher.test` from a
 * throwaway CA (made with the openssl CLI), demands a client certificate from that same CA (`requestCert` +
 * `rejectUnauthorized`), negotiates ALPN `h2`, and pipes the decrypted bytes to the dev server's plaintext gRPC port
 * (HTTP/2 with prior knowledge). Both SDK transports go through it with the options Usher builds from TEMPORAL_*:
 * the client's (grpc-js over Node's TLS) and the worker's NativeConnection (the Rust core: tonic over rustls).
 * A second, HTTP/2-terminating proxy with the same mTLS reads the headers of each call, to see the API key on the wire.
 * What this proves and what it cannot is written up in docs/temporal-tls.md.
 */

const run = promisify(execFile);
const SERVER_NAME = 'temporal.usher.test';

interface Pki {
  dir: string;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  /** The same name, but in the subject's CN only: no subjectAltName. */
  cnOnlyCertPath: string;
  cnOnlyKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  /** A second CA nobody trusts, and a client certificate it signed. */
  otherCaPath: string;
  strangerCertPath: string;
  strangerKeyPath: string;
}

/** A CA, and leaf certificates it signs, made with the openssl CLI into `dir`. EC P-256 keeps it quick. */
async function makePki(dir: string): Promise<Pki> {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });

  const makeCa = async (name: string, cn: string) => {
    await writeFile(
      file(`${name}.cnf`),
      [
        '[req]',
        'distinguished_name = dn',
        'prompt = no',
        '[dn]',
        `CN = ${cn}`,
        '[v3_ca]',
        'basicConstraints = critical, CA:TRUE',
        'keyUsage = critical, keyCertSign, cRLSign',
        'subjectKeyIdentifier = hash',
        '',
      ].join('\n'),
    );
    await openssl('req', '-x509', '-config', file(`${name}.cnf`), '-extensions', 'v3_ca', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '2');
  };

  const makeLeaf = async (name: string, ca: string, cn: string, extensions: string[]) => {
    await writeFile(file(`${name}.cnf`), ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', `CN = ${cn}`, ''].join('\n'));
    await writeFile(
      file(`${name}.ext`),
      ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', ...extensions, ''].join('\n'),
    );
    await openssl('req', '-new', '-config', file(`${name}.cnf`), '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    await openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.pem`), '-CAkey', file(`${ca}.key`), '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.pem`));
  };

  await Promise.all([makeCa('ca', 'Usher test CA'), makeCa('other-ca', 'Some other CA')]);
  await Promise.all([
    makeLeaf('server', 'ca', SERVER_NAME, ['extendedKeyUsage = serverAuth', `subjectAltName = DNS:${SERVER_NAME}`]),
    makeLeaf('cn-only', 'ca', SERVER_NAME, ['extendedKeyUsage = serverAuth']),
    makeLeaf('client', 'ca', 'usher-worker', ['extendedKeyUsage = clientAuth']),
    makeLeaf('stranger', 'other-ca', 'usher-worker', ['extendedKeyUsage = clientAuth']),
  ]);
  return {
    dir,
    caPath: file('ca.pem'),
    serverCertPath: file('server.pem'),
    serverKeyPath: file('server.key'),
    cnOnlyCertPath: file('cn-only.pem'),
    cnOnlyKeyPath: file('cn-only.key'),
    clientCertPath: file('client.pem'),
    clientKeyPath: file('client.key'),
    otherCaPath: file('other-ca.pem'),
    strangerCertPath: file('stranger.pem'),
    strangerKeyPath: file('stranger.key'),
  };
}

interface Handshake {
  /** The SNI the client sent. */
  serverName: string | false | null;
  alpn: string | false | null;
  clientCn: string | undefined;
  authorized: boolean;
}

interface TlsFrontDoor {
  address: string;
  /** Every connection that completed the mutual handshake. */
  accepted: Handshake[];
  /** Every handshake the server side refused, by OpenSSL's reason. */
  refused: string[];
  /** (The inspecting kind only) the `authorization` header of every gRPC call it forwarded. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

const [upstreamHost, upstreamPort] = ((address: string) => {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))] as const;
})(inject('temporalAddress'));

interface FrontDoorOptions {
  /** Offer ALPN h2 (default true). */
  alpn?: boolean;
  /** Present the certificate with the name in the CN only (default false: the name in subjectAltName). */
  cnOnly?: boolean;
}

async function serverTlsOptions(pki: Pki, { alpn = true, cnOnly = false }: FrontDoorOptions = {}): Promise<tls.TlsOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(cnOnly ? pki.cnOnlyCertPath : pki.serverCertPath),
    readFile(cnOnly ? pki.cnOnlyKeyPath : pki.serverKeyPath),
    readFile(pki.caPath),
  ]);
  return { cert, key, ca, requestCert: true, rejectUnauthorized: true, ...(alpn ? { ALPNProtocols: ['h2'] } : {}) };
}

const handshakeOf = (socket: tls.TLSSocket): Handshake => ({
  serverName: socket.servername,
  alpn: socket.alpnProtocol,
  clientCn: socket.getPeerCertificate()?.subject?.CN as string | undefined,
  authorized: socket.authorized,
});

/**
 * Why the server side dropped a handshake. A missing certificate fails inside OpenSSL (with an alert); a certificate
 * that does not verify passes the TLS exchange and is then cut by Node (`rejectUnauthorized`) before anything is
 * forwarded, with the verification error left on the socket.
 */
const recordRefusal = (refused: string[]) => (err: Error & { reason?: string }, socket: tls.TLSSocket) => {
  const verifyError = socket.authorizationError as unknown as string | Error | undefined;
  refused.push(String(verifyError ?? err.reason ?? err.message));
};

async function listenOnLoopback(server: net.Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** The mTLS terminator: TLS in, the same bytes out in plaintext to the dev server. It never looks inside HTTP/2. */
async function startTlsProxy(pki: Pki, options: FrontDoorOptions = {}): Promise<TlsFrontDoor> {
  const accepted: Handshake[] = [];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = tls.createServer(await serverTlsOptions(pki, options), (socket) => {
    accepted.push(handshakeOf(socket));
    const upstream = net.connect(upstreamPort, upstreamHost);
    track(socket);
    track(upstream);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  server.on('connection', track);
  server.on('tlsClientError', recordRefusal(refused));
  const address = await listenOnLoopback(server);
  return {
    address,
    accepted,
    refused,
    authorizations: [],
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The same mTLS front door, but terminating HTTP/2 as well, so it can read each call's headers (on the wire they are
 * HPACK-compressed inside TLS; a byte pipe cannot see them) before forwarding the call to the dev server.
 */
async function startInspectingProxy(pki: Pki): Promise<TlsFrontDoor> {
  const accepted: Handshake[] = [];
  const refused: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const upstream = http2.connect(`http://${upstreamHost}:${upstreamPort}`);
  upstream.on('error', () => {});
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer(await serverTlsOptions(pki));
  server.on('secureConnection', (socket: tls.TLSSocket) => accepted.push(handshakeOf(socket)));
  server.on('tlsClientError', recordRefusal(refused));
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    authorizations.push(headers.authorization as string | undefined);
    const forward: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name === ':scheme' || name === ':authority') continue;
      forward[name] = value;
    }
    const call = upstream.request(forward);
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (responseHeaders, flags) => {
      const trailersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      if (trailersOnly) {
        stream.respond(responseHeaders, { endStream: true });
        return;
      }
      stream.respond(responseHeaders, { waitForTrailers: true });
      call.pipe(stream);
    });
    call.on('trailers', (received) => {
      trailers = received;
    });
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    call.on('error', () => stream.destroy());
    stream.on('error', () => call.destroy());
    stream.pipe(call);
  });
  const address = await listenOnLoopback(server as unknown as net.Server);
  return {
    address,
    accepted,
    refused,
    authorizations,
    async close() {
      for (const session of sessions) session.destroy();
      upstream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let pki: Pki;
let proxy: TlsFrontDoor;
let inspecting: TlsFrontDoor;
const grpcTrace: string[] = [];

beforeAll(async () => {
  quietRuntime();
  grpc.setLogVerbosity(grpc.logVerbosity.DEBUG);
  const capture = (forward: boolean) => (...args: unknown[]) => {
    const line = args.join(' ');
    if (line.includes('| subchannel |')) grpcTrace.push(line);
    else if (forward) process.stderr.write(`${line}\n`);
  };
  grpc.setLogger({ error: capture(true), info: capture(false), debug: capture(false) });
  pki = await makePki(await mkdtemp(path.join(os.tmpdir(), 'usher-tls-')));
  [proxy, inspecting] = await Promise.all([startTlsProxy(pki), startInspectingProxy(pki)]);
});

afterAll(async () => {
  await Promise.allSettled([proxy?.close(), inspecting?.close()]);
  if (pki) await rm(pki.dir, { recursive: true, force: true });
});

/** The settings Usher runs with: TEMPORAL_* variables through the one config loader (src/main/config.ts). */
const fromEnv = (env: Record<string, string | undefined>): TemporalConnectionSettings => loadConfig(env).temporal;

const mtlsEnv = (address: string, overrides: Record<string, string | undefined> = {}) => ({
  TEMPORAL_ADDRESS: address,
  TEMPORAL_NAMESPACE: 'default',
  TEMPORAL_TLS_CERT: pki.clientCertPath,
  TEMPORAL_TLS_KEY: pki.clientKeyPath,
  TEMPORAL_TLS_CA: pki.caPath,
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  ...overrides,
});

/** A connection that passed the mutual handshake: SNI from TEMPORAL_TLS_SERVER_NAME, HTTP/2, Usher's certificate. */
const MUTUAL: Handshake = { serverName: SERVER_NAME, alpn: 'h2', clientCn: 'usher-worker', authorized: true };

/** A refused handshake must fail in seconds, not after the client's default ten of waiting for the channel. */
const QUICKLY = { connectTimeout: '2 seconds' } as const;

interface Refusal {
  /** What each transport said. */
  worker: Error;
  client: Error;
  /** Why grpc-js's channel failed (from its trace). */
  clientReasons: string[];
  /** What the proxy saw of each transport's attempts. */
  workerRefusals: string[];
  clientRefusals: string[];
  /** Handshakes the proxy completed (and so forwarded to Temporal): must stay 0. */
  accepted: number;
}

/**
 * Both transports try the settings against a fresh proxy of their own, so no other attempt blurs the record. The
 * worker goes first: the Rust core fails at once and does not retry in the background, while grpc-js retries until
 * its deadline (its lazy connection is closed afterwards, so nothing keeps knocking).
 */
async function attempt(envFor: (address: string) => Record<string, string | undefined>): Promise<Refusal> {
  const door = await startTlsProxy(pki);
  try {
    const options = await temporalConnectionOptions(fromEnv(envFor(door.address)));
    // The proxy's record of a refusal can land a moment after the client has given up: wait for it before moving on.
    const recorded = () => expect.poll(() => door.refused.length, { timeout: 2_000, interval: 10 }).toBeGreaterThan(0);
    const worker = await refusal(() => NativeConnection.connect(options));
    await recorded();
    const workerRefusals = door.refused.splice(0);
    const traced = grpcTrace.length;
    const lazy = Connection.lazy({ ...options, ...QUICKLY });
    const client = await refusal(async () => {
      await lazy.ensureConnected();
      return lazy;
    }).finally(() => lazy.close());
    await recorded();
    const clientRefusals = door.refused.splice(0);
    const clientReasons = grpcTrace
      .slice(traced)
      .filter((line) => line.includes(door.address))
      .map((line) => /TRANSIENT_FAILURE with error "([\s\S]*)"\s*$/.exec(line)?.[1])
      .filter((reason): reason is string => reason !== undefined);
    return { worker, client, clientReasons, workerRefusals, clientRefusals, accepted: door.accepted.length };
  } finally {
    await door.close();
  }
}

/** The error a connection attempt fails with; a test failure if it succeeds. */
async function refusal(connect: () => Promise<{ close(): Promise<void> }>): Promise<Error> {
  let connection: { close(): Promise<void> } | undefined;
  try {
    connection = await connect();
  } catch (err) {
    return err as Error;
  }
  await connection.close();
  throw new Error('the connection was accepted');
}

const every = (values: string[], pattern: RegExp) => {
  expect(values.length).toBeGreaterThan(0);
  for (const value of values) expect(value).toMatch(pattern);
};

describe('Temporal over mutual TLS, through a TLS-terminating proxy in front of the dev server', () => {
  it('turns the TEMPORAL_* settings into the options both transports take', async () => {
    const env = mtlsEnv('temporal.internal:7233', { TEMPORAL_API_KEY: 'k' });
    expect(await temporalConnectionOptions(fromEnv(env))).toEqual({
      address: 'temporal.internal:7233',
      tls: {
        serverNameOverride: SERVER_NAME,
        serverRootCACertificate: await readFile(pki.caPath),
        clientCertPair: { crt: await readFile(pki.clientCertPath), key: await readFile(pki.clientKeyPath) },
      },
      apiKey: 'k',
    });
    // Temporal Cloud with an API key: TLS against the system's roots, no pair, no override, and the key.
    const cloud = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'k' };
    expect(await temporalConnectionOptions(fromEnv(cloud))).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'k' });
    // TEMPORAL_TLS=true alone: TLS against the system's roots.
    expect(await temporalConnectionOptions(fromEnv({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS: 'true' }))).toEqual({
      address: 'temporal.internal:7233',
      tls: {},
    });
    // And the dev default stays plaintext.
    expect(await temporalConnectionOptions(fromEnv({}))).toEqual({ address: '127.0.0.1:7233' });
  });

  it('with the client certificate, the worker (Rust core) and the client (grpc-js) connect and run a workflow end to end', async () => {
    const settings = fromEnv(mtlsEnv(proxy.address));
    const before = proxy.accepted.length;

    // The worker's transport on its own: NativeConnection with the very options Usher builds.
    const native = await NativeConnection.connect(await temporalConnectionOptions(settings));
    try {
      expect((await native.workflowService.getSystemInfo({})).capabilities).toBeTruthy();
    } finally {
      await native.close();
    }

    // The production paths: createWorker makes its NativeConnection from the settings, connectClient its Connection.
    // The activities are stand-ins (no database here); the workflow is Usher's own, from the prebuilt bundle.
    const taskQueue = `usher-tls-${randomBytes(4).toString('hex')}`;
    const calls: string[] = [];
    const stub = (name: string, result?: unknown) => async () => {
      calls.push(name);
      return result;
    };
    const activities = {
      openInvitation: stub('openInvitation', 'no-email'),
      finishInvitation: stub('finishInvitation', { redirectUrl: null }),
      notifyInviter: stub('notifyInviter'),
    } as unknown as Activities;
    // Only the worker's interceptors read deps here (a logger; the database only after a batch).
    const deps = { invitations: { log: createLogger('silent') } } as unknown as ActivityDeps;
    const worker = await createWorker({
      temporal: settings,
      taskQueue,
      deps,
      activities,
      workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
    });
    const running = worker.run();
    const client = await connectClient(settings);
    try {
      const now = Date.now();
      const input: InvitationWorkflowInput = {
        invitationId: `tls-${randomBytes(4).toString('hex')}`,
        tenantId: 'tls-test',
        createdAt: now,
        expiresAt: now + 1_000,
        reminderDays: [],
        reminderBasisDays: 1,
        sendEmail: false,
      };
      const workflowId = workflowIdFor(input.invitationId);
      const handle = await client.workflow.start('invitationWorkflow', { taskQueue, workflowId, args: [input] });
      const state = (await handle.result()) as InvitationState;
      expect(state.status).toBe('expired');
      expect(calls).toEqual(['openInvitation', 'finishInvitation', 'notifyInviter']);

      await expect
        .poll(
          async () => {
            const ids: string[] = [];
            for await (const execution of client.workflow.list({ query: `TaskQueue="${taskQueue}"` })) ids.push(execution.workflowId);
            return ids;
          },
          { timeout: 10_000, interval: 100 },
        )
        .toEqual([workflowId]);
    } finally {
      await client.connection.close();
      worker.shutdown();
      await running;
      await worker.connection?.close();
    }

    // Every one of those connections came through the mutual handshake, over h2, with Usher's client certificate, and
    // asked for the server by TEMPORAL_TLS_SERVER_NAME (SNI), not by the address it dialled.
    const ours = proxy.accepted.slice(before);
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const handshake of ours) expect(handshake).toEqual(MUTUAL);
  });

  // When the server is the one refusing, its record is the evidence: under TLS 1.3 a client finishes its side of the
  // handshake before the server has judged its certificate, so what the client then reports (the server's alert, a
  // reset, a broken pipe, a cancelled call) depends on timing. The clients only have to fail.
  const SERVER_CUT = /CertificateRequired|alert certificate required|ConnectionReset|ECONNRESET|BrokenPipe|EPIPE|UnexpectedEof|Canceled|socket hang up|Failed to connect/;

  it('refuses a connection without a client certificate: the server demands one', async () => {
    const result = await attempt((address) => mtlsEnv(address, { TEMPORAL_TLS_CERT: undefined, TEMPORAL_TLS_KEY: undefined }));
    expect(result.accepted).toBe(0);
    every(result.workerRefusals, /peer did not return a certificate/);
    every(result.clientRefusals, /peer did not return a certificate/);
    expect(result.worker.name).toBe('TransportError');
    expect(result.worker.message).toMatch(SERVER_CUT);
    every(result.clientReasons, SERVER_CUT);
    expect(result.client.message).toMatch(/Failed to connect before the deadline/);
  });

  it('refuses a client certificate from another CA: the server cannot verify it', async () => {
    const result = await attempt((address) => mtlsEnv(address, { TEMPORAL_TLS_CERT: pki.strangerCertPath, TEMPORAL_TLS_KEY: pki.strangerKeyPath }));
    expect(result.accepted).toBe(0);
    // The server completes the TLS exchange, then cuts the connection (Node's rejectUnauthorized) before forwarding a
    // byte, with the verification error on record.
    every(result.workerRefusals, /^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
    every(result.clientRefusals, /^UNABLE_TO_VERIFY_LEAF_SIGNATURE$/);
    expect(result.worker.name).toBe('TransportError');
    expect(result.worker.message).toMatch(SERVER_CUT);
    every(result.clientReasons, SERVER_CUT);
    expect(result.client.message).toMatch(/Failed to connect before the deadline/);
  });

  it('refuses a server whose certificate TEMPORAL_TLS_CA did not sign', async () => {
    const result = await attempt((address) => mtlsEnv(address, { TEMPORAL_TLS_CA: pki.otherCaPath }));
    expect(result.accepted).toBe(0);
    expect(result.worker.message).toMatch(/InvalidCertificate\(UnknownIssuer\)/);
    every(result.clientReasons, /self-signed certificate in certificate chain|unable to (verify|get local issuer)/);
    // The clients walked away mid-handshake: rustls with an alert, Node's TLS by closing.
    every(result.workerRefusals, /alert unknown ca|socket hang up|ECONNRESET/);
    every(result.clientRefusals, /socket hang up|ECONNRESET|alert/);
  });

  it('refuses a server whose certificate does not carry TEMPORAL_TLS_SERVER_NAME', async () => {
    const result = await attempt((address) => mtlsEnv(address, { TEMPORAL_TLS_SERVER_NAME: 'temporal.elsewhere.test' }));
    expect(result.accepted).toBe(0);
    expect(result.worker.message).toMatch(/NotValidForName/);
    every(result.clientReasons, /ERR_TLS_CERT_ALTNAME_INVALID/);
    every(result.workerRefusals, /alert bad certificate|socket hang up|ECONNRESET/);
    every(result.clientRefusals, /socket hang up|ECONNRESET|alert/);
  });

  it('sends TEMPORAL_API_KEY as "authorization: Bearer <key>" on every call, from both transports, inside mTLS', async () => {
    const options = await temporalConnectionOptions(fromEnv(mtlsEnv(inspecting.address, { TEMPORAL_API_KEY: 'k' })));
    const before = inspecting.authorizations.length;

    const client = await connectClient(fromEnv(mtlsEnv(inspecting.address, { TEMPORAL_API_KEY: 'k' })));
    try {
      await client.workflow.count();
    } finally {
      await client.connection.close();
    }
    const native = await NativeConnection.connect(options);
    try {
      await native.workflowService.getSystemInfo({});
    } finally {
      await native.close();
    }

    const seen = inspecting.authorizations.slice(before);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(new Set(['Bearer k']));

    // The control: the same connection without TEMPORAL_API_KEY carries no authorization header at all.
    const withoutKey = await NativeConnection.connect(await temporalConnectionOptions(fromEnv(mtlsEnv(inspecting.address))));
    const unkeyed = inspecting.authorizations.length;
    try {
      await withoutKey.workflowService.getSystemInfo({});
    } finally {
      await withoutKey.close();
    }
    expect(inspecting.authorizations.slice(unkeyed)).toEqual([undefined]);
    expect(inspecting.accepted.length).toBeGreaterThanOrEqual(2);
    for (const handshake of inspecting.accepted) expect(handshake).toEqual(MUTUAL);
  });

  it('needs ALPN h2 at the TLS front door: without it the client still connects, but the worker refuses', async () => {
    const door = await startTlsProxy(pki, { alpn: false });
    try {
      const options = await temporalConnectionOptions(fromEnv(mtlsEnv(door.address)));
      // tonic insists on HTTP/2 being negotiated; grpc-js speaks it regardless. A terminator (load balancer, ingress)
      // that does not offer h2 would let `usher api` start and leave `usher worker` unable to connect.
      const worker = await refusal(() => NativeConnection.connect(options));
      expect(worker.message).toMatch(/H2NotNegotiated/);
      const client = await Connection.connect({ ...options, ...QUICKLY });
      await client.close();
      expect(door.accepted.map((handshake) => handshake.alpn)).toEqual([false, false]);
    } finally {
      await door.close();
    }
  });

  it('needs the server name in subjectAltName: with it in the CN only, the client still connects, but the worker refuses', async () => {
    const door = await startTlsProxy(pki, { cnOnly: true });
    try {
      const options = await temporalConnectionOptions(fromEnv(mtlsEnv(door.address)));
      // rustls matches names against subjectAltName only; Node's TLS falls back to the CN when there is none.
      const worker = await refusal(() => NativeConnection.connect(options));
      expect(worker.message).toMatch(/NotValidForName/);
      const client = await Connection.connect({ ...options, ...QUICKLY });
      await client.close();
    } finally {
      await door.close();
    }
  });
});
