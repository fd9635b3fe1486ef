/**
 * The gateway's job-management calls (spread into createTemporalGateway): list jobs from
 * visibility, read why a closed job failed, retry, cancel, and Temporal Schedules. Every call is
 * one bounded RPC (or a few) under TEMPORAL_RPC_TIMEOUT; nothing here lists without a page size.
 */
import { randomUUID } from 'node:crypto';
import {
  isGrpcServiceError,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOverlapPolicy,
} from '@temporalio/client';
import { ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal as proto } from '@temporalio/proto';
import type { Config } from './config';
import { currentTenant, DEFAULT_TENANT } from './tenancy';
import { legacyJobId } from './tenant-ids';
import { CorrelationIdKey, TenantIdKey } from './temporal-keys';
import type { WorkflowStart } from './temporal';

/** Temporal's closed and open states, as the API names them (the SDK's status names). */
export const JOB_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** The statuses a retry may follow: the job ended without finishing its work and was not canceled on purpose. */
export const RETRYABLE_STATUSES: readonly JobStatus[] = ['FAILED', 'TIMED_OUT', 'TERMINATED'];

/** Visibility's ExecutionStatus values (the query language names them in CamelCase). */
const VISIBILITY_STATUS: Record<JobStatus, string> = {
  RUNNING: 'Running',
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CANCELED: 'Canceled',
  TERMINATED: 'Terminated',
  TIMED_OUT: 'TimedOut',
  CONTINUED_AS_NEW: 'ContinuedAsNew',
};

export interface JobFilter {
  /** Workflow types to list: never empty (the caller passes the registry's). */
  workflowTypes: string[];
  status?: JobStatus;
  correlationId?: string;
  startedAfter?: Date;
  startedBefore?: Date;
}

/** A visibility string literal: values are validated by the API, but quote them properly anyway. */
const literal = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The list filter as a visibility query (the same text works in the Web UI's search box). */
export function visibilityQuery(filter: JobFilter): string {
  const clauses = [`WorkflowType IN (${filter.workflowTypes.map(literal).join(', ')})`];
  // Only the caller's tenant's jobs (the API authenticates every request; the relay has no tenant).
  const tenant = currentTenant();
  if (tenant !== undefined) clauses.push(`${TenantIdKey.name} = ${literal(tenant)}`);
  if (filter.status) clauses.push(`ExecutionStatus = ${literal(VISIBILITY_STATUS[filter.status])}`);
  if (filter.correlationId) clauses.push(`${CorrelationIdKey.name} = ${literal(filter.correlationId)}`);
  if (filter.startedAfter) clauses.push(`StartTime >= ${literal(filter.startedAfter.toISOString())}`);
  if (filter.startedBefore) clauses.push(`StartTime < ${literal(filter.startedBefore.toISOString())}`);
  return clauses.join(' AND ');
}

const statusName = (status: proto.api.enums.v1.WorkflowExecutionStatus | null | undefined): string =>
  (proto.api.enums.v1.WorkflowExecutionStatus[status ?? 0] ?? 'UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', '');

export interface JobSummary {
  jobId: string;
  runId: string;
  type: string;
  status: string;
  correlationId: string | null;
  startedAt: string;
  /** Later than startedAt for a delayed job: when it runs (or ran). */
  runsAt: string | null;
  closedAt: string | null;
}

/** Why a closed job did not complete, from the end of its history. */
export interface JobFailure {
  message: string;
  /** The failure's type: an application error type (e.g. 'ParcelLost'), 'Timeout', 'Terminated', 'Canceled'. */
  type: string | null;
  /** The activity whose failure failed the job, if one did. */
  activity: string | null;
  /** How many times the failing activity was attempted; for a failure the workflow raised, how many activity attempts failed before it (null when none). */
  attempts: number | null;
  /** Temporal's retry state (e.g. 'MAXIMUM_ATTEMPTS_REACHED', 'NON_RETRYABLE_FAILURE'). */
  retryState: string | null;
}

/** Events read from the end of a closed run: enough for its close event and the failed activity's last attempt. */
const TAIL_EVENTS = 50;

const retryStateName = (state: proto.api.enums.v1.RetryState | null | undefined) =>
  state ? (proto.api.enums.v1.RetryState[state] ?? '').replace('RETRY_STATE_', '') || null : null;

/** The gRPC error behind an SDK error (the schedule client wraps them in a ServiceError), if any. */
export function grpcCause(err: unknown): { code: number; details: string } | undefined {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if (isGrpcServiceError(e)) return e;
  return undefined;
}

export interface ScheduleSpecInput {
  cron?: string;
  intervalMs?: number;
}

export interface ScheduleCreate {
  scheduleId: string;
  start: WorkflowStart;
  spec: ScheduleSpecInput;
  overlap: ScheduleOverlapPolicy;
  paused: boolean;
  note?: string;
  /** Kept with the schedule for describe (the job type and the spec as the client wrote it). */
  memo: Record<string, unknown>;
}

export function jobManagement(client: Client, temporal: Config['temporal'], withinRpcTimeout: <T>(call: () => Promise<T>) => Promise<T>) {
  const { namespace } = temporal;
  const service = client.workflowService;

  /** The end of a closed run's history, newest first (one bounded page). */
  const historyTail = (jobId: string, runId: string) =>
    withinRpcTimeout(() => service.getWorkflowExecutionHistoryReverse({ namespace, execution: { workflowId: jobId, runId }, maximumPageSize: TAIL_EVENTS }));

  /** The Temporal ID of the caller's schedule `scheduleId`. */
  const ownSchedule = (scheduleId: string) => `${currentTenant() ?? DEFAULT_TENANT}/${scheduleId}`;

  const management = {
    /** One page of jobs matching the filter (Temporal's own order: newest first within open and closed runs). */
    async listJobs(filter: JobFilter, pageSize: number, nextPageToken?: Uint8Array): Promise<{ jobs: JobSummary[]; nextPageToken: Uint8Array | null }> {
      if (filter.workflowTypes.length === 0) return { jobs: [], nextPageToken: null };
      const page = await withinRpcTimeout(() => service.listWorkflowExecutions({ namespace, pageSize, nextPageToken, query: visibilityQuery(filter) }));
      const jobs = (page.executions ?? []).map((info): JobSummary => {
        const startedAt = optionalTsToDate(info.startTime)!;
        const runsAt = optionalTsToDate(info.executionTime);
        return {
          jobId: info.execution!.workflowId!,
          runId: info.execution!.runId!,
          type: info.type!.name!,
          status: statusName(info.status),
          correlationId: decodeTypedSearchAttributes(info.searchAttributes?.indexedFields).get(CorrelationIdKey) ?? null,
          startedAt: startedAt.toISOString(),
          runsAt: runsAt && runsAt.getTime() > startedAt.getTime() + 1 ? runsAt.toISOString() : null,
          closedAt: optionalTsToDate(info.closeTime)?.toISOString() ?? null,
        };
      });
      return { jobs, nextPageToken: page.nextPageToken?.length ? page.nextPageToken : null };
    },

    /** Why a closed run ended without completing, and how often its failing activity was tried. */
    async failureOf(jobId: string, runId: string): Promise<JobFailure | null> {
      const events = (await historyTail(jobId, runId)).history?.events ?? [];
      const close = events[0];
      if (!close) return null;
      const failed = close.workflowExecutionFailedEventAttributes;
      if (failed?.failure) {
        // Decoded through the client's data converter: with the payload codec, the stored message is only 'Encoded failure'.
        const error = await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, failed.failure);
        let cause: Error | undefined = error;
        while (cause?.cause instanceof Error) cause = cause.cause;
        const activityInfo = failed.failure.activityFailureInfo;
        const started = activityInfo
          ? events.find((e) => e.activityTaskStartedEventAttributes && Number(e.activityTaskStartedEventAttributes.scheduledEventId) === Number(activityInfo.scheduledEventId))
          : undefined;
        const message = cause?.message || error?.message || 'failed';
        return {
          message: activityInfo ? `activity ${activityInfo.activityType?.name} failed: ${message}` : message,
          type: cause instanceof ApplicationFailure ? (cause.type ?? null) : cause instanceof TimeoutFailure ? 'Timeout' : null,
          activity: activityInfo?.activityType?.name ?? null,
          // A failure the workflow raised itself (e.g. a webhook giving up after its timed attempts): the activity failures before it.
          attempts: started?.activityTaskStartedEventAttributes?.attempt ?? (events.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes).length || null),
          retryState: retryStateName(activityInfo?.retryState ?? failed.retryState),
        };
      }
      if (close.workflowExecutionTimedOutEventAttributes) {
        return { message: 'the job ran past its execution timeout', type: 'Timeout', activity: null, attempts: null, retryState: retryStateName(close.workflowExecutionTimedOutEventAttributes.retryState) };
      }
      if (close.workflowExecutionTerminatedEventAttributes) {
        return { message: `terminated: ${close.workflowExecutionTerminatedEventAttributes.reason || 'no reason given'}`, type: 'Terminated', activity: null, attempts: null, retryState: null };
      }
      return null;
    },

    /**
     * The latest run of the caller's job: its (internal) ID, type and status, or undefined when there
     * is none. Found by its internal ID, else by the ID without the tenant (platform/tenant-ids.ts).
     */
    async describeJob(internalJobId: string): Promise<{ jobId: string; runId: string; type: string; status: string } | undefined> {
      for (const jobId of [internalJobId, legacyJobId(internalJobId)]) {
        if (jobId === undefined) continue;
        const description = await withinRpcTimeout(() => client.workflow.getHandle(jobId).describe()).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
        if (!description) continue;
        // Another tenant's job is no job of the caller's.
        const tenant = currentTenant();
        if (tenant !== undefined && description.typedSearchAttributes.get(TenantIdKey) !== tenant) return undefined;
        return { jobId, runId: description.runId, type: description.type, status: description.status.name };
      }
      return undefined;
    },

    /**
     * Run a closed job again: a new run of the same workflow ID with its latest run's input, task
     * queue, headers (correlation ID), search attributes and Web UI text, copied as raw payloads
     * from that run's start event (nothing is decoded, so a payload codec passes through). The ID
     * reuse policy ALLOW_DUPLICATE_FAILED_ONLY holds for this one start: the server itself refuses
     * when the last run completed (and every other start of the job keeps REJECT_DUPLICATE).
     */
    async retryJob(jobId: string, runId: string): Promise<{ runId: string } | 'not-retryable'> {
      const first = await withinRpcTimeout(() =>
        service.getWorkflowExecutionHistory({ namespace, execution: { workflowId: jobId, runId }, maximumPageSize: 1 }),
      );
      const event = first.history?.events?.[0];
      const started = event?.workflowExecutionStartedEventAttributes;
      if (!started) throw new Error(`job ${jobId} run ${runId} has no start event`);
      try {
        const response = await withinRpcTimeout(() =>
          service.startWorkflowExecution({
            namespace,
            workflowId: jobId,
            workflowType: started.workflowType,
            taskQueue: started.taskQueue,
            input: started.input,
            header: started.header,
            searchAttributes: started.searchAttributes,
            memo: started.memo,
            workflowRunTimeout: started.workflowRunTimeout,
            workflowExecutionTimeout: started.workflowExecutionTimeout,
            workflowTaskTimeout: started.workflowTaskTimeout,
            retryPolicy: started.retryPolicy,
            priority: started.priority,
            userMetadata: event.userMetadata,
            identity: client.options.identity,
            requestId: randomUUID(),
            workflowIdReusePolicy: proto.api.enums.v1.WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
            workflowIdConflictPolicy: proto.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
          }),
        );
        return { runId: response.runId! };
      } catch (err) {
        // ALREADY_EXISTS: another retry won the race, or the last run completed after all.
        if (isGrpcServiceError(err) && err.code === 6) return 'not-retryable';
        throw err;
      }
    },

    /** Request cancellation of a running job: its workflow's own cleanup runs (a saga compensates). */
    async cancelJob(jobId: string): Promise<void> {
      await withinRpcTimeout(() => client.workflow.getHandle(jobId).cancel());
    },

    /**
     * Schedules belong to their tenant: in Temporal a schedule's ID is `<tenant>/<scheduleId>`, so
     * another tenant's schedule is simply not there (404), and two tenants may use the same ID.
     */
    schedules: {
      /** 'exists' when a schedule with this ID is already there (schedule IDs are business keys). */
      async create(schedule: ScheduleCreate): Promise<'created' | 'exists' | { invalidSpec: string }> {
        const { start } = schedule;
        try {
          await withinRpcTimeout(() =>
            client.schedule.create({
              scheduleId: ownSchedule(schedule.scheduleId),
              spec: schedule.spec.cron ? { cronExpressions: [schedule.spec.cron] } : { intervals: [{ every: schedule.spec.intervalMs! }] },
              action: {
                type: 'startWorkflow',
                workflowType: start.workflowType,
                // Temporal appends each run's scheduled time to this ID, so every run is its own job.
                workflowId: start.workflowId,
                taskQueue: temporal.taskQueue,
                args: [...start.args],
                // The tenant's, so its scheduled jobs are its own (status reads and lists check it).
                typedSearchAttributes: [...(currentTenant() !== undefined ? [{ key: TenantIdKey, value: currentTenant()! }] : []), ...(start.searchAttributes ?? [])],
                staticSummary: start.summary,
                staticDetails: start.details,
              },
              memo: schedule.memo,
              policies: { overlap: schedule.overlap, catchupWindow: '1 minute' },
              state: { paused: schedule.paused, note: schedule.note },
            }),
          );
          return 'created';
        } catch (err) {
          if (err instanceof ScheduleAlreadyRunning) return 'exists';
          // The server's parser refused the cron string or interval ("Invalid schedule spec"): the SDK raises it as a TypeError.
          if (err instanceof TypeError) return { invalidSpec: err.message };
          if (grpcCause(err)?.code === 3) return { invalidSpec: grpcCause(err)!.details };
          throw err;
        }
      },
      /** One page of the server's listing, the caller's tenant's schedules only (so a page may hold fewer than pageSize). */
      async list(pageSize: number, nextPageToken?: Uint8Array) {
        const page = await withinRpcTimeout(() => service.listSchedules({ namespace, maximumPageSize: pageSize, nextPageToken }));
        const prefix = ownSchedule('');
        return {
          schedules: (page.schedules ?? []).filter((s) => s.scheduleId?.startsWith(prefix)).map((s) => ({
            scheduleId: s.scheduleId!.slice(prefix.length),
            workflowType: s.info?.workflowType?.name ?? null,
            paused: s.info?.paused ?? false,
            note: s.info?.notes || null,
            nextRuns: (s.info?.futureActionTimes ?? []).slice(0, 3).map((t) => optionalTsToDate(t)!.toISOString()),
          })),
          nextPageToken: page.nextPageToken?.length ? page.nextPageToken : null,
        };
      },
      /** Undefined when there is no such schedule. */
      async describe(scheduleId: string): Promise<ScheduleDescription | undefined> {
        return withinRpcTimeout(() => client.schedule.getHandle(ownSchedule(scheduleId)).describe()).catch((err: unknown) => {
          if (err instanceof ScheduleNotFoundError) return undefined;
          throw err;
        });
      },
      /** Pause, unpause, trigger now or delete; 'not-found' when there is no such schedule. */
      async act(scheduleId: string, action: 'pause' | 'unpause' | 'trigger' | 'delete', note?: string): Promise<'done' | 'not-found'> {
        const handle = client.schedule.getHandle(ownSchedule(scheduleId));
        try {
          await withinRpcTimeout(() =>
            action === 'pause' ? handle.pause(note) : action === 'unpause' ? handle.unpause(note) : action === 'trigger' ? handle.trigger('ALLOW_ALL') : handle.delete(),
          );
          return 'done';
        } catch (err) {
          if (err instanceof ScheduleNotFoundError || grpcCause(err)?.code === 5) return 'not-found';
          throw err;
        }
      },
    },
  };
  return management;
}
