import fs from 'node:fs';
import { Client, Connection, isGrpcServiceError, WorkflowExecutionAlreadyStartedError, type TLSConfig } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { CorrelationIdKey } from '../workflows/definitions';
import { conveyorDataConverter } from './codec';
import type { Config } from './config';
import { correlationClientInterceptor } from './correlation';

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
export function createTemporalClient(temporal: Config['temporal'], connection = Connection.lazy(connectionOptions(temporal))): Client {
  return new Client({
    connection,
    namespace: temporal.namespace,
    interceptors: { workflow: [correlationClientInterceptor] },
    dataConverter: conveyorDataConverter(temporal.codec),
  });
}

/** Run one call to Temporal under TEMPORAL_RPC_TIMEOUT: an outage becomes a quick error, never a hang. */
export function withinRpcTimeout<T>(client: Client, temporal: Config['temporal'], call: () => Promise<T>): Promise<T> {
  return client.withDeadline(Date.now() + temporal.rpcTimeoutMs, call);
}

/** Link to one run in the Temporal Web UI, or undefined when no UI URL is known. */
export function webUiLink(temporal: Config['temporal'], workflowId: string, runId?: string): string | undefined {
  if (!temporal.uiUrl) return undefined;
  const base = `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}

// gRPC status codes (numbers fixed by the gRPC spec).
const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/** True when Temporal could not be reached in time (down, unreachable, or too slow). */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && [UNAVAILABLE, DEADLINE_EXCEEDED].includes(e.code)) return true;
  }
  return false;
}

export interface BusinessWorkflowStart {
  workflowType: string;
  /** A business key: the same job always gets the same ID. */
  workflowId: string;
  args: unknown[];
  correlationId: string;
  /** One line for the Web UI's summary (no PII). */
  summary: string;
  /** Markdown for the Web UI's details: what this job does. */
  details: string;
  /** Search attributes besides CorrelationId (e.g. OrderId), so the Web UI can find the job. */
  searchAttributes?: SearchAttributePair[];
}

/**
 * Start a workflow that must run once per business key, whoever asks and however often: while a
 * run is open a repeat joins it; once it has closed the server refuses a new run with that ID
 * ('already-closed'). Bounded by TEMPORAL_RPC_TIMEOUT.
 */
export async function startOnce(client: Client, temporal: Config['temporal'], job: BusinessWorkflowStart): Promise<{ runId: string } | 'already-closed'> {
  try {
    const handle = await withinRpcTimeout(client, temporal, () =>
      client.workflow.start(job.workflowType, {
        taskQueue: temporal.taskQueue,
        workflowId: job.workflowId,
        args: job.args,
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: CorrelationIdKey, value: job.correlationId }, ...(job.searchAttributes ?? [])],
        staticSummary: job.summary,
        staticDetails: job.details,
      }),
    );
    return { runId: handle.firstExecutionRunId };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already-closed';
    throw err;
  }
}
