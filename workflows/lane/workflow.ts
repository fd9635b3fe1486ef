import { condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LaneActivities } from './activities';
import { laneProgressQuery, laneWakeSignal, type LaneInput } from './definition';

// The activity heartbeats every second while it runs batches, so a worker that dies mid-batch is noticed
// within the heartbeat timeout and the activity is retried (its claimed items first; each effect is keyed per item).
// The activity stops claiming after 5 s (activities.ts), well within this timeout.
const { runLaneBatch } = proxyActivities<LaneActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * One partition of a job type's lane: batch after batch of its due items, in order; idle, it
 * waits for a wake signal or its next due retry (or the idle check, so a lost signal only delays).
 */
export async function lane(input: LaneInput): Promise<never> {
  const progress = { generation: input.generation ?? 0, batches: 0, succeeded: 0, retrying: 0, failed: 0 };
  let woken = false;
  setHandler(laneWakeSignal, () => void (woken = true), { description: 'Items were committed to this partition.' });
  setHandler(laneProgressQuery, () => progress);

  const { runId } = workflowInfo();
  while (progress.batches < input.batchesPerRun && !workflowInfo().continueAsNewSuggested) {
    woken = false; // a wake from now on means items this batch may not have seen
    // Batches for as long as items keep coming, within what is left of this run.
    const batch = await runLaneBatch.executeWithOptions({ summary: `Batches from ${progress.batches + 1}` }, [
      { ...input, batchId: `${runId}/${progress.batches}`, maxBatches: input.batchesPerRun - progress.batches },
    ]);
    progress.batches += batch.batches;
    progress.succeeded += batch.succeeded;
    progress.retrying += batch.retrying;
    progress.failed += batch.failed;
    setCurrentDetails(`**${input.jobType}** partition ${input.partition}: ${progress.succeeded} succeeded, ${progress.failed} failed in this run`);
    if (batch.more || woken) continue;
    await condition(() => woken, Math.max(1, Math.min(input.idleCheckMs, batch.nextDueInMs ?? input.idleCheckMs)), { summary: 'Wait for items' });
  }
  // The items live in the database, so the next run starts where this one stopped.
  return continueAsNew<typeof lane>({ ...input, generation: progress.generation + 1 });
}
