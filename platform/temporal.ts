import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Client,
  Connection,
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type TLSConfig,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
} from '@temporalio/client';
import { toClientOptions } from '@temporalio/envconfig';
import type { QueryDefinition, SearchAttributePair, SignalDefinition, Workflow } from '@temporalio/common';
import { conveyorDataConverter } from './codec';
import type { Config } from './config';
import { correlationClientInterceptor } from './correlation';
import { currentTenant } from './tenancy';
import { jobManagement } from './temporal-jobs';
import { CorrelationIdKey, TenantIdKey } from './temporal-keys';
import { tracingPlugins } from './tracing';

/**
 * Address, TLS, API key and gRPC metadata for both the client (API) and the native (worker)
 * connection, from what @temporalio/envconfig resolved (platform/config.ts). Certificate files
 * are read here, at connect time, so a renewed certificate is picked up by the next process.
 */
export function connectionOptions(temporal: Config['temporal']): { address: string; tls?: TLSConfig | boolean; apiKey?: string; metadata?: Record<string, string> } {
  const { connectionOptions: options } = toClientOptions({ ...temporal.connection, address: temporal.address });
  return { address: temporal.address, tls: options.tls ?? undefined, apiKey: options.apiKey, metadata: temporal.connection.grpcMeta };
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
    plugins: tracingPlugins(),
  });
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

/** How a job type starts one workflow: made from the job's input by its declaration. */
export interface WorkflowStart {
  workflowType: string;
  /** A business key: the same job always gets the same ID. */
  workflowId: string;
  args: readonly unknown[];
  /** One line for the Web UI's summary (no PII). */
  summary: string;
  /** Markdown for the Web UI's details: what this job does. */
  details?: string;
  /** Search attributes besides CorrelationId (e.g. OrderId), so the Web UI can find the job. */
  searchAttributes?: SearchAttributePair[];
}

/** What a status read shows of one job: a workflow execution, its ID being the job ID. */
export interface JobView {
  jobId: string;
  type: string;
  status: string;
  /**
   * While it runs: what the workflow answered to the status query (its step for most jobs);
   * null when no worker answered in time (the job waits on the queue). Once closed: null.
   */
  current: unknown;
  result: unknown;
  failure: { message: string } | null;
  correlationId: string | null;
  startedAt: string;
  closedAt: string | null;
  /** A delayed job that has not started yet: when it will. */
  startsAt: string | null;
  webUiUrl: string | null;
}

/** When a job starts: later (startDelay, Temporal's server-side timer) and in which order under a backlog. */
export interface StartOptions {
  startDelayMs?: number;
  /** Temporal's priority key (1 = first, 5 = last; unset = 3) and fairness key (a tenant, say). */
  priority?: { priorityKey?: number; fairnessKey?: string };
}

/** How long a status read waits for a worker to answer the job's status query. */
const STATUS_QUERY_TIMEOUT_MS = 1_000;

const requestDeadline = new AsyncLocalStorage<number>();

/**
 * Run `fn` (one HTTP request) under one deadline for all its calls to Temporal: a request that
 * makes several calls still answers (503 at worst) within TEMPORAL_RPC_TIMEOUT, not that times
 * the number of calls.
 */
export const withRequestDeadline = <T>(timeoutMs: number, fn: () => T): T => requestDeadline.run(Date.now() + timeoutMs, fn);

/**
 * The one way Conveyor's roles talk to Temporal, built once per process from its client and
 * config. Every call runs under TEMPORAL_RPC_TIMEOUT: an outage becomes a quick error, never a hang.
 */
export function createTemporalGateway(client: Client, temporal: Config['temporal']) {
  /** The deadline for the next call: TEMPORAL_RPC_TIMEOUT from now, or the request's own if that comes first. */
  const deadline = (timeoutMs = temporal.rpcTimeoutMs) => Math.min(Date.now() + timeoutMs, requestDeadline.getStore() ?? Infinity);
  const withinRpcTimeout = <T>(call: () => Promise<T>): Promise<T> => client.withDeadline(deadline(), call);
  const startOptions = (start: WorkflowStart, correlationId?: string, tenant?: string) => ({
    taskQueue: temporal.taskQueue,
    workflowId: start.workflowId,
    args: [...start.args],
    typedSearchAttributes: [
      ...(correlationId ? [{ key: CorrelationIdKey, value: correlationId }] : []),
      ...(tenant ? [{ key: TenantIdKey, value: tenant }] : []),
      ...(start.searchAttributes ?? []),
    ],
    staticSummary: start.summary,
    staticDetails: start.details,
  });

  /**
   * Tenancy: workflow IDs stay business keys (shared with database rows, operation keys and child
   * IDs inside workflow code); the owner is the TenantId search attribute, set on every start
   * made on a tenant's behalf and compared on every read and message. The platform's own workflows
   * (consumer groups, subscribers) have none, so no tenant reads them. Code that runs for no
   * tenant (the relay's event delivery) sees every workflow.
   */
  const ownedByCaller = (description: WorkflowExecutionDescription) => {
    const tenant = currentTenant();
    return tenant === undefined || description.typedSearchAttributes.get(TenantIdKey) === tenant;
  };
  const describeIfExists = (jobId: string) =>
    withinRpcTimeout(() => client.workflow.getHandle(jobId).describe()).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });

  const gateway = {
    client,
    withinRpcTimeout,
    ...jobManagement(client, temporal, withinRpcTimeout),

    /** Link to one run in the Temporal Web UI, or null when no UI URL is known (TEMPORAL_UI_URL). */
    webUiLink(workflowId: string, runId?: string): string | null {
      if (!temporal.uiUrl) return null;
      const base = `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
      return runId ? `${base}/${runId}/history` : base;
    },

    /**
     * Start a workflow that must run once per business key, however often its owner asks: while a
     * run is open a repeat joins it; once it has closed the server refuses a new run with that ID
     * ('already-closed'). The ID taken by another tenant's job: 'taken' (nothing started, nothing
     * joined). The start fails on any existing ID, and only then is the owner looked up, so a
     * first start costs one call.
     */
    async startOnce(start: WorkflowStart, correlationId: string, options: StartOptions = {}): Promise<{ runId: string } | 'already-closed' | 'taken'> {
      const tenant = currentTenant();
      try {
        const handle = await withinRpcTimeout(() =>
          client.workflow.start(start.workflowType, {
            ...startOptions(start, correlationId, tenant),
            ...(options.startDelayMs ? { startDelay: options.startDelayMs } : {}),
            ...(options.priority ? { priority: options.priority } : {}),
            workflowIdConflictPolicy: 'FAIL',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          }),
        );
        return { runId: handle.firstExecutionRunId };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        const existing = await describeIfExists(start.workflowId);
        if (!existing) throw err; // gone between the two calls (retention): the caller's retry starts it
        if (existing.typedSearchAttributes.get(TenantIdKey) !== tenant) return 'taken';
        return existing.status.name === 'RUNNING' ? { runId: existing.runId } : 'already-closed';
      }
    },

    /** Signal a long-lived workflow, starting it first if it is not running (it comes to life on its first signal). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK types signal arguments as any[]
    async signalWithStart<Args extends any[]>(start: WorkflowStart, signal: SignalDefinition<Args>, signalArgs: Args): Promise<void> {
      // By name: the caller's definition already checked the signal's arguments.
      await withinRpcTimeout(() => client.workflow.signalWithStart<Workflow, unknown[]>(start.workflowType, { ...startOptions(start), signal: signal.name, signalArgs }));
    },

    /**
     * Read one job: its description, then (one call, not two) `statusQuery` while it runs or its
     * result once closed. Undefined when there is no such workflow.
     */
    async readJob<View>(jobId: string, statusQuery: QueryDefinition<View>): Promise<JobView | undefined> {
      const handle = client.workflow.getHandle(jobId);
      const description = await describeIfExists(jobId);
      if (!description || !ownedByCaller(description)) return undefined;
      const status = description.status.name;
      // A delayed job is RUNNING before its first workflow task: nobody can answer a query yet.
      const startsAt = description.executionTime && description.executionTime.getTime() > Date.now() ? description.executionTime.toISOString() : null;
      let current: unknown = null;
      let result: unknown = null;
      let failure: JobView['failure'] = null;
      if (status === 'RUNNING' && !startsAt) {
        current = await client
          .withDeadline(deadline(STATUS_QUERY_TIMEOUT_MS), () => handle.query(statusQuery))
          .catch(() => null); // no worker polling right now: the job waits, its state is unknown
      } else {
        try {
          result = await withinRpcTimeout(() => handle.result());
        } catch (err) {
          const cause = (err as { cause?: Error }).cause;
          failure = { message: cause?.message || (err as Error).message };
        }
      }
      return {
        jobId,
        type: description.type,
        status,
        current,
        result,
        failure,
        correlationId: description.typedSearchAttributes.get(CorrelationIdKey) ?? null,
        startedAt: description.startTime.toISOString(),
        closedAt: description.closeTime?.toISOString() ?? null,
        startsAt,
        webUiUrl: gateway.webUiLink(jobId, description.runId),
      };
    },

    /** At most `limit` of the caller's workflows matching a visibility query (ANDed with the caller's TenantId when there is one). */
    async listOwn(query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
      const tenant = currentTenant();
      const scoped = tenant === undefined ? query : `(${query}) AND ${TenantIdKey.name} = "${tenant}"`;
      return withinRpcTimeout(async () => {
        const found: WorkflowExecutionInfo[] = [];
        for await (const wf of client.workflow.list({ query: scoped, pageSize: limit })) {
          if (found.push(wf) >= limit) break;
        }
        return found;
      });
    },

    /** Signal or update a running job of the caller's; 'not-open' when it has closed, never existed or is another tenant's. */
    async sendToOpen<T>(jobId: string, send: (handle: WorkflowHandle) => Promise<T>): Promise<T | 'not-open'> {
      if (currentTenant() !== undefined) {
        const description = await describeIfExists(jobId);
        if (!description || !ownedByCaller(description) || description.status.name !== 'RUNNING') return 'not-open';
      }
      try {
        return await withinRpcTimeout(() => send(client.workflow.getHandle(jobId)));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 'not-open';
        throw err;
      }
    },
  };
  return gateway;
}

export type TemporalGateway = ReturnType<typeof createTemporalGateway>;
