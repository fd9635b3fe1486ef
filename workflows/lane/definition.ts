/**
 * The lane (bundle-safe): one long-lived workflow per (job type, partition) drives that
 * partition's items from `lane_items` in batches. The items are rows, not workflows: a job type
 * on the lane trades per-job history, signals and sagas for volume (docs/architecture.md, "The lane").
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/**
 * The lane workflows are per deployment (its task queue) as well as per job type and partition:
 * deployments sharing a namespace (the test suites on one dev server) each drive their own database.
 */
export const laneWorkflowId = (taskQueue: string, jobType: string, partition: number) => `lane:${taskQueue}:${jobType}:${partition}`;

export interface LaneInput {
  jobType: string;
  partition: number;
  /** Items claimed per batch (one activity). */
  batchSize: number;
  /** Batches (busy or idle) before the workflow continues as new; its state lives in the database. */
  batchesPerRun: number;
  /** With nothing due and no wake signal, look again after this long (a lost signal only delays). */
  idleCheckMs: number;
  maxAttempts: number;
  /** A failed item's first retry waits this long, doubling up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** How many times this workflow has continued as new (0 for the first run). */
  generation?: number;
}

export interface LaneProgress {
  generation: number;
  batches: number;
  succeeded: number;
  retrying: number;
  failed: number;
}

/** Items were committed to this partition: claim them now rather than at the next idle check. */
export const laneWakeSignal = defineSignal('wake');
export const laneProgressQuery = defineQuery<LaneProgress>('laneProgress');

/** Which partition a key's item goes to: FNV-1a of the key, stable across processes and restarts. */
export function lanePartitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

export function laneStart(input: LaneInput & { taskQueue: string }) {
  const { taskQueue, ...args } = input;
  return {
    workflowType: 'lane',
    workflowId: laneWorkflowId(taskQueue, input.jobType, input.partition),
    args: [args] as const,
    summary: `Lane of ${input.jobType}, partition ${input.partition}`,
    details:
      `Claims the partition's due items in order, ${input.batchSize} per batch, runs each item's effect once, records each outcome; ` +
      `retries failures with backoff up to ${input.maxAttempts} attempts. Woken by signal \`wake\`; continues as new every ${input.batchesPerRun} batches.`,
  };
}
