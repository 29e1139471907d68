import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';

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

export async function connectClient(settings: TemporalConnectionSettings): Promise<Client> {
  const connection = await Connection.connect(await temporalConnectionOptions(settings));
  return new Client({ connection, namespace: settings.namespace });
}
