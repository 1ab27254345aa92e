// Connection to Temporal for the API, the worker and scripts: the local dev server
// by default, a self-hosted cluster (mTLS) or Temporal Cloud (API key) by configuration.
import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { relanceDataConverter } from '../codec/index';
import type { Config } from './index';

export function temporalAddress(config: Config): string {
  return config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
}

/** A PEM given inline (starts with -----BEGIN) or as a file path. */
export function readPem(value: string, variable: string): Buffer {
  if (value.trimStart().startsWith('-----BEGIN')) return Buffer.from(value.replace(/\\n/g, '\n'));
  try {
    return readFileSync(value);
  } catch (err) {
    throw new Error(`${variable}: cannot read ${value}: ${(err as Error).message}`);
  }
}

/**
 * TLS for a real cluster:
 *   - mTLS (self-hosted, Temporal Cloud with certificates): TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY,
 *     optionally TEMPORAL_TLS_CA (private CA) and TEMPORAL_TLS_SERVER_NAME;
 *   - server TLS only: TEMPORAL_TLS_CA and/or TEMPORAL_TLS_SERVER_NAME without a client pair;
 *   - Temporal Cloud with an API key: TLS with the system roots (no variable needed).
 * Each of the PEM variables takes a file path or the PEM itself.
 */
export function tlsOptions(config: Config): ConnectionOptions['tls'] {
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: serverName } = config;
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS client certificate and its key)');
  }
  const serverRootCACertificate = ca ? readPem(ca, 'TEMPORAL_TLS_CA') : undefined;
  if (cert && key) {
    return {
      serverNameOverride: serverName,
      serverRootCACertificate,
      clientCertPair: { crt: readPem(cert, 'TEMPORAL_TLS_CERT'), key: readPem(key, 'TEMPORAL_TLS_KEY') },
    };
  }
  if (serverRootCACertificate || serverName) return { serverNameOverride: serverName, serverRootCACertificate };
  // Temporal Cloud with an API key needs TLS without a client certificate.
  return config.TEMPORAL_API_KEY ? true : undefined;
}

export function connectionOptions(config: Config): ConnectionOptions & NativeConnectionOptions {
  return {
    address: temporalAddress(config),
    tls: tlsOptions(config),
    apiKey: config.TEMPORAL_API_KEY,
    // Temporal Cloud's regional (API key) endpoints route by this header; namespace endpoints ignore it.
    metadata: config.TEMPORAL_API_KEY ? { 'temporal-namespace': config.TEMPORAL_NAMESPACE } : undefined,
  } as ConnectionOptions & NativeConnectionOptions;
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: relanceDataConverter(config) });
}

export async function connectWorkerConnection(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(config));
}
