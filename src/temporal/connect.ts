import { readFile } from 'node:fs/promises';
import { Client, Connection, defaultGrpcRetryOptions, type GrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { clientInterceptors } from './interceptors';

/** How to reach the Temporal frontend: plain on loopback in dev; TLS (mTLS, or an API key) for a cluster or Cloud. */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  tls?: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string };
  apiKey?: string;
}

/** What both the client's Connection and the worker's NativeConnection take: the two must never differ. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

export async function temporalConnectionOptions(settings: TemporalConnectionSettings): Promise<TemporalConnectionOptions> {
  const options: TemporalConnectionOptions = { address: settings.address };
  const tls = settings.tls;
  if (tls) {
    const [crt, key, ca] = await Promise.all([
      tls.certPath ? readFile(tls.certPath) : undefined,
      tls.keyPath ? readFile(tls.keyPath) : undefined,
      tls.caPath ? readFile(tls.caPath) : undefined,
    ]);
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    };
  }
  if (settings.apiKey) options.apiKey = settings.apiKey;
  return options;
}

const reconnectQuickly = { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 2_000 };

// The SDK's retries, except for a call refused because no connection could be made: retrying that for the whole
// deadline would keep a request waiting 10 s for a server that is down. It fails at once, certainly unsent, and the
// caller answers 503 (src/temporal/invitation-client.ts).
const sdkRetries = defaultGrpcRetryOptions();
const retryUnlessUnreachable: GrpcRetryOptions = {
  delayFunction: sdkRetries.delayFunction,
  retryableDecider: (attempt, status) => !/No connection established/i.test(status.details) && sdkRetries.retryableDecider(attempt, status),
};

export async function connectClient(settings: TemporalConnectionSettings): Promise<Client> {
  // gRPC's reconnect backoff grows to 2 minutes by default: after an outage the client would stay cut off long after
  // the server is back. Capped at 2 s, the API is ready again within seconds (docs/reliability.md).
  const connection = await Connection.connect({
    ...(await temporalConnectionOptions(settings)),
    channelArgs: reconnectQuickly,
    interceptors: [makeGrpcRetryInterceptor(retryUnlessUnreachable)],
  });
  // Traces and the request id travel into every workflow this client starts or updates (src/temporal/interceptors.ts).
  return new Client({ connection, namespace: settings.namespace, interceptors: clientInterceptors() });
}
