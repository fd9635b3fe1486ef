import { Context } from '@temporalio/activity';
import type { Transaction } from 'kysely';
import type { Database } from '../db/database';
import { commitOffset, committedOffset, readEvents, type GroupOf, type StoredEvent } from '../db/events';
import type { DatabaseSchema } from '../db/schema';
import { once } from '../db/once';
import { failpoint } from '../platform/failpoint';

export interface ConsumerBatchInput extends GroupOf {
  limit: number;
  /** Apply a seek before reading: the group's offset becomes this. */
  seekTo?: number;
}

export interface ConsumerBatchResult {
  read: number;
  applied: number;
  duplicatesSkipped: number;
  committedOffset: number;
}

/** What each demo group computes: a count per event type, and for payments a sum per currency. */
function statChanges(group: string, event: StoredEvent): Array<{ key: string; delta: number }> {
  const changes = [{ key: `count:${event.type}`, delta: 1 }];
  const { amount, currency } = event.payload;
  if (group === 'revenue-stats' && typeof amount === 'number' && typeof currency === 'string') changes.push({ key: `sum:${currency}`, delta: amount });
  return changes;
}

async function addToStats(trx: Transaction<DatabaseSchema>, { tenantId, group }: GroupOf, key: string, delta: number) {
  await trx
    .insertInto('stream_stats')
    .values({ tenant_id: tenantId, group_name: group, stat_key: key, value: delta })
    .onConflict((oc) => oc.columns(['tenant_id', 'group_name', 'stat_key']).doUpdateSet((eb) => ({ value: eb('stream_stats.value', '+', delta) })))
    .execute();
}

export function createStreamActivities({ db }: { db: Database }) {
  return {
    /**
     * One batch for one consumer group: read after the committed offset, handle each event
     * exactly once (keyed by group and event ID, so a batch retried after a crash or re-read
     * after a seek never applies an effect twice), then commit the new offset.
     */
    async processConsumerBatch(input: ConsumerBatchInput): Promise<ConsumerBatchResult> {
      // A platform-wide group from before groups ran per tenant (its input names none): it reads
      // nothing, and the relay terminates it at start-up.
      if (input.tenantId === undefined) return { read: 0, applied: 0, duplicatesSkipped: 0, committedOffset: 0 };
      if (input.seekTo !== undefined) await commitOffset(db, input, input.seekTo);
      // Only the group's tenant's events: its offsets have gaps where other tenants' events are.
      const events = await readEvents(db, input.stream, await committedOffset(db, input), input.limit, input.tenantId);
      let applied = 0;
      for (const [i, event] of events.entries()) {
        // Keyed by tenant too: each tenant's instance applies each of its events once.
        const { appliedNow } = await once(db, `${input.tenantId}/${input.group}/${event.eventId}`, async (trx) => {
          for (const { key, delta } of statChanges(input.group, event)) await addToStats(trx, input, key, delta);
        });
        if (appliedNow) applied++;
        Context.current().heartbeat(event.offset);
        if (i === Math.floor(events.length / 2)) failpoint('consumer-mid-batch');
      }
      const last = events.at(-1)?.offset;
      if (last !== undefined) await commitOffset(db, input, last);
      return { read: events.length, applied, duplicatesSkipped: events.length - applied, committedOffset: last ?? (await committedOffset(db, input)) };
    },
  };
}
