// Connection to Temporal for the API, the worker and scripts: the local dev server
// by default, a self-hosted cluster (mTLS) or Temporal Cloud (API key) by configuration.
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from './index';

export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
}

function tlsOptions(config: Config): ConnectionOptions['tls'] {
  if (config.TEMPORAL_TLS_CERT && config.TEMPORAL_TLS_KEY) {
    return {
      serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME,
      serverRootCACertificate: config.TEMPORAL_TLS_CA ? readFileSync(config.TEMPORAL_TLS_CA) : undefined,
      clientCertPair: { crt: readFileSync(config.TEMPORAL_TLS_CERT), key: readFileSync(config.TEMPORAL_TLS_KEY) },
    };
  }
  // Temporal Cloud with an API key needs TLS without a client certificate.
  return config.TEMPORAL_API_KEY ? true : undefined;
}

export function connectionOptions(config: Config): ConnectionOptions & NativeConnectionOptions {
  return {
    address: temporalAddress(config),
    tls: tlsOptions(config),
    apiKey: config.TEMPORAL_API_KEY,
  } as ConnectionOptions & NativeConnectionOptions;
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

export async function connectWorkerConnection(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
