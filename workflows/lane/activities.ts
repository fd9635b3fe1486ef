import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../../activities';
import { claimLaneItems, nextLaneItemDueInMs, settleLaneItems, type LaneItem, type LaneOutcome } from '../../db/lane';
import { failpoint } from '../../platform/failpoint';
import type { JobDeclaration, LaneSpec } from '../declaration';
import type { LaneInput } from './definition';

export interface LaneBatchInput extends LaneInput {
  /** `<runId>/<batch number>`: the same for every attempt of one batch. */
  batchId: string;
}

export interface LaneBatchResult {
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
  /** A full batch: more items are probably due at once. */
  more: boolean;
  /** When the next pending item is due (a retry's backoff), null when nothing is pending. */
  nextDueInMs: number | null;
}

/** A claim outlives any batch (startToCloseTimeout 5 min): after this, its items are claimable again. */
const CLAIM_LEASE_MS = 10 * 60_000;

/** Run `fn` over `list` with at most `limit` in flight, results in the list's order. */
async function mapLimit<T, R>(list: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(list.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, list.length) }, async () => {
    while (next < list.length) {
      const i = next++;
      results[i] = await fn(list[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** The lane's one activity: the job types on the lane come from the registry (passed in, as data). */
export function createLaneActivities(deps: ActivityDeps, jobs: JobDeclaration[]) {
  const lanes = new Map<string, LaneSpec>(jobs.flatMap((job) => (job.lane ? [[job.name, job.lane] as const] : [])));

  async function runItem(lane: LaneSpec, item: LaneItem): Promise<LaneOutcome> {
    try {
      const result = await lane.run(deps, JSON.parse(item.input), { itemId: item.item_id, key: item.item_key, tenantId: item.tenant_id });
      return { itemId: item.item_id, ok: true, result };
    } catch (err) {
      const final = err instanceof ApplicationFailure && err.nonRetryable === true;
      return { itemId: item.item_id, ok: false, error: (err as Error).message || String(err), final };
    }
  }

  return {
    /**
     * One batch of one partition: claim its due items in order, run each item's effect (keyed
     * per item, so a batch retried after a crash applies nothing twice), record every outcome in
     * one transaction. Retried by Temporal when the worker dies: the retry takes back this batch's items.
     */
    async runLaneBatch(input: LaneBatchInput): Promise<LaneBatchResult> {
      const lane = lanes.get(input.jobType);
      if (!lane) throw ApplicationFailure.nonRetryable(`job type ${input.jobType} has no lane`, 'NoLane');
      const items = await claimLaneItems(deps.db, { jobType: input.jobType, partition: input.partition, batchId: input.batchId, limit: input.batchSize, leaseMs: CLAIM_LEASE_MS });
      let done = 0;
      const outcomes = await mapLimit(items, lane.concurrency, async (item) => {
        const outcome = await runItem(lane, item);
        Context.current().heartbeat(++done);
        if (done === Math.ceil(items.length / 2)) failpoint('lane-mid-batch');
        return outcome;
      });
      if (items.length > 0) failpoint('lane-before-settle');
      const settled = await settleLaneItems(deps.db, input.batchId, outcomes, input);
      return {
        claimed: items.length,
        ...settled,
        more: items.length === input.batchSize,
        // Only an idle partition needs it (a full batch goes on at once); it reads every pending row.
        nextDueInMs: items.length === input.batchSize ? 0 : await nextLaneItemDueInMs(deps.db, input.jobType, input.partition),
      };
    },
  };
}

export type LaneActivities = ReturnType<typeof createLaneActivities>;
