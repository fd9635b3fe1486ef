/**
 * The lane's own workflow as a job type (internal: started by the lane API's wake and the outbox
 * relay at start, never submitted), and how a lane job type's declaration and the config make
 * its partitions' workflow inputs.
 */
import type { Config } from '../../platform/config';
import { declareJob, type JobDeclaration, type LaneSpec } from '../declaration';
import { laneStart, type LaneInput } from './definition';

export const laneJob = declareJob<LaneInput & { taskQueue: string }>({
  name: 'lane',
  description:
    'One partition of a lane job type: claims its items from the database in order, runs them in batches (each effect once, keyed per item), ' +
    'retries failures with backoff and moves exhausted ones to the failed view. One per (job type, partition), long-lived.',
  workflowType: 'lane',
  start: laneStart,
  startedBy: 'the lane API after each enqueue (signal-with-start `wake`), and the outbox relay for partitions whose items are overdue',
});

/** The lane settings in effect: the declaration's, overridden by LANE_* variables. */
export function laneSettings(lane: LaneSpec, config: Config) {
  return {
    partitions: config.lane.partitions ?? lane.partitions,
    batchSize: config.lane.batchSize ?? lane.batchSize,
    backoffMs: config.lane.retryBackoffMs ?? lane.backoffMs,
  };
}

/** The start of one partition's workflow (its ID, input and Web UI text). */
export function lanePartitionStart(job: JobDeclaration, partition: number, config: Config) {
  const lane = job.lane!;
  const settings = laneSettings(lane, config);
  return laneStart({
    taskQueue: config.temporal.taskQueue,
    jobType: job.name,
    partition,
    batchSize: settings.batchSize,
    batchesPerRun: config.lane.batchesPerRun,
    idleCheckMs: config.lane.idleCheckMs,
    maxAttempts: lane.maxAttempts,
    backoffMs: settings.backoffMs,
    maxBackoffMs: Math.max(lane.maxBackoffMs, settings.backoffMs),
  });
}

/** Every partition of every lane job type (the relay wakes them all once at start). */
export const allLanePartitionStarts = (jobs: JobDeclaration[], config: Config) =>
  jobs.flatMap((job) => (job.lane ? Array.from({ length: laneSettings(job.lane, config).partitions }, (_, p) => lanePartitionStart(job, p, config)) : []));
