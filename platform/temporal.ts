import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { Config } from './config';

/** Address, TLS and API key for both the client (API) and the native (worker) connection. */
export function connectionOptions(temporal: Config['temporal']): { address: string; tls?: TLSConfig | boolean; apiKey?: string } {
  const tls: TLSConfig | boolean | undefined =
    temporal.tlsCertPath && temporal.tlsKeyPath
      ? { clientCertPair: { crt: fs.readFileSync(temporal.tlsCertPath), key: fs.readFileSync(temporal.tlsKeyPath) } }
      : temporal.tls || undefined;
  return { address: temporal.address, tls, apiKey: temporal.apiKey };
}

/**
 * A client whose connection opens on first use: the API starts (and answers /healthz) while
 * Temporal is still down; requests that need Temporal answer 503 until it is back.
 */
export function createTemporalClient(temporal: Config['temporal']): Client {
  const connection = Connection.lazy(connectionOptions(temporal));
  return new Client({ connection, namespace: temporal.namespace });
}

/** Link to one run in the Temporal Web UI, or undefined when no UI URL is known. */
export function webUiLink(temporal: Config['temporal'], workflowId: string, runId?: string): string | undefined {
  if (!temporal.uiUrl) return undefined;
  const base = `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
