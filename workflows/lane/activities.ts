import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from '../../activities';
import { claimLaneItems, laneItemDue, nextLaneItemDueInMs, settleLaneItems, type LaneItem, type LaneOutcome } from '../../db/lane';
import { failpoint } from '../../platform/failpoint';
import type { JobDeclaration, LaneSpec } from '../declaration';
import type { LaneInput } from './definition';

export interface LaneBatchInput extends LaneInput {
  /** `<runId>/<batch number>`: the claim of every batch this activity runs, the same for every attempt. */
  batchId: string;
  /** Run at most this many batches (what is left of the run's `batchesPerRun`). */
  maxBatches: number;
}

export interface LaneBatchResult {
  /** Batches run (claims made), at least one. */
  batches: number;
  claimed: number;
  succeeded: number;
  retrying: number;
  failed: number;
  /** The last batch was full: more items are probably due at once. */
  more: boolean;
  /** When the next pending item is due (a retry's backoff), null when nothing is pending. */
  nextDueInMs: number | null;
}

/** A claim outlives any activity (startToCloseTimeout 5 min): after this, its items are claimable again. */
const CLAIM_LEASE_MS = 10 * 60_000;
/**
 * The activity claims no new batch after this long. Well under its heartbeat timeout (10 s,
 * workflow.ts): a retry is only scheduled once that timeout has passed since the last recorded
 * heartbeat, so an attempt the server gave up on (while it was down, say) has stopped claiming
 * before its retry starts, and two attempts never run batches side by side.
 */
const ACTIVITY_BUDGET_MS = 5_000;
/**
 * After its last item the activity keeps looking this long before it returns: longer than the
 * API's wake interval (api/lanes.ts), so an item committed while its wake was held back is
 * still seen at once.
 */
export const LINGER_MS = 250;
const LINGER_POLL_MS = 20;
/** A heartbeat is a call through the SDK: one a second shows the worker alive (heartbeatTimeout 10 s). */
const HEARTBEAT_EVERY_MS = 1_000;

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

  /** One batch: claim the partition's due items in order, run each item's effect, record every outcome in one transaction. */
  async function runBatch(lane: LaneSpec, input: LaneBatchInput, beat: () => void) {
    const items = await claimLaneItems(deps.db, { jobType: input.jobType, partition: input.partition, batchId: input.batchId, limit: input.batchSize, leaseMs: CLAIM_LEASE_MS });
    let done = 0;
    const outcomes = await mapLimit(items, lane.concurrency, async (item) => {
      const outcome = await runItem(lane, item);
      done++;
      beat();
      if (done === Math.ceil(items.length / 2)) failpoint('lane-mid-batch');
      return outcome;
    });
    if (items.length > 0) failpoint('lane-before-settle');
    return { claimed: items.length, ...(await settleLaneItems(deps.db, input.batchId, outcomes, input)) };
  }

  return {
    /**
     * A partition's batches, one after another for as long as items keep coming (each effect
     * keyed per item, so batches run again after a crash apply nothing twice). A partition
     * under steady load stays in this one activity instead of paying a workflow task per batch;
     * after its last item it lingers a moment, so items committed right behind it are taken
     * without waiting for a wake. Retried by Temporal when the worker dies: every batch claims
     * under the activity's batch ID, so the retry first takes back the batch that was running.
     */
    async runLaneBatch(input: LaneBatchInput): Promise<LaneBatchResult> {
      const lane = lanes.get(input.jobType);
      if (!lane) throw ApplicationFailure.nonRetryable(`job type ${input.jobType} has no lane`, 'NoLane');
      const context = Context.current();
      const totals = { batches: 0, claimed: 0, succeeded: 0, retrying: 0, failed: 0 };
      let lastBeat = 0;
      const beat = () => {
        if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = Date.now();
        context.heartbeat(totals.claimed);
      };
      const started = Date.now();
      // Stop when cancelled (the heartbeat timed out and a retry may have taken over), out of time or out of batches.
      const goOn = () => !context.cancellationSignal.aborted && Date.now() - started < ACTIVITY_BUDGET_MS && totals.batches < input.maxBatches;
      /** Whether an item becomes due within LINGER_MS (a cheap read every LINGER_POLL_MS). */
      const moreArrive = async () => {
        for (const quietSince = Date.now(); Date.now() - quietSince < LINGER_MS && goOn(); await context.sleep(LINGER_POLL_MS)) {
          if (await laneItemDue(deps.db, input.jobType, input.partition)) return true;
          beat();
        }
        return false;
      };
      let full: boolean;
      do {
        const batch = await runBatch(lane, input, beat);
        totals.batches++;
        totals.claimed += batch.claimed;
        totals.succeeded += batch.succeeded;
        totals.retrying += batch.retrying;
        totals.failed += batch.failed;
        full = batch.claimed === input.batchSize;
      } while (goOn() && (full || (await moreArrive())));
      return {
        ...totals,
        more: full,
        // Only an idle partition needs it (a full batch goes on at once); it reads every pending row.
        nextDueInMs: full ? 0 : await nextLaneItemDueInMs(deps.db, input.jobType, input.partition),
      };
    },
  };
}

export type LaneActivities = ReturnType<typeof createLaneActivities>;
