/**
 * The restock workflow on the time-skipping test server with its real activities on a real SQLite
 * file: the 14-day delivery window is skipped, and the stock changes once however the delivery
 * notice is repeated or the shelving step is retried.
 */
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { openDatabase, type Database } from '../../db/database';
import { workflowTestKit, type WorkflowTestKit } from '../../worker/testing';
import type { RestockActivities } from '../../workflows/restock/activities';
import { deliveredSignal, type RestockInput } from '../../workflows/restock/definition';
import { restockJob } from '../../workflows/restock/job';
import { tempDir, uniqueTag, waitFor } from '../support/env';
import { stockOf, stockSku } from '../support/shop';

const FOURTEEN_DAYS_MS = 14 * 24 * 60 * 60 * 1000;

let db: Database;
let kit: WorkflowTestKit;
beforeAll(async () => {
  db = await openDatabase({ kind: 'sqlite', file: path.join(tempDir('restock'), 'conveyor.sqlite') });
  kit = await workflowTestKit({ db });
});
afterAll(async () => {
  await kit?.teardown();
  await db?.destroy();
});

async function restockOf(quantity: number): Promise<RestockInput> {
  return { restockId: uniqueTag('r'), sku: await stockSku(db, { stock: 5 }), quantity, supplier: 'acme' };
}

test('a delivery (announced twice) is shelved once; a shelving step that failed after its commit is not applied twice', async () => {
  const input = await restockOf(10);
  const real = kit.activities as RestockActivities;
  let shelveAttempts = 0;
  const activities = {
    ...kit.activities,
    // The first attempt commits and then "crashes" before Temporal hears of it: the retry finds the key.
    async shelveDelivery(i: Parameters<RestockActivities['shelveDelivery']>[0]) {
      shelveAttempts = Context.current().info.attempt;
      const done = await real.shelveDelivery(i);
      if (shelveAttempts === 1) throw new Error('worker lost after the commit');
      return done;
    },
  };
  const result = await kit.withWorker(async () => {
    const handle = await kit.start(restockJob, input);
    await waitFor('the purchase order', async () => ((await handle.query('progress')) as { step: string }).step.startsWith('waiting') || undefined);
    await handle.signal(deliveredSignal, { quantity: 8 });
    await handle.signal(deliveredSignal, { quantity: 8 });
    return handle.result();
  }, activities);

  expect(shelveAttempts).toBe(2); // the fault fired, and the step was retried
  expect(result).toMatchObject({ outcome: 'received', received: 8, stock: 13 });
  expect(result.purchaseOrder).toMatch(/^PO-[0-9A-F]{8}$/);
  expect(await stockOf(db, input.sku)).toBe(13);
});

test('no delivery within 14 (skipped) days: nothing is shelved', async () => {
  const input = await restockOf(10);
  const before = await kit.now();
  const result = await kit.execute(restockJob, input);
  expect(result).toMatchObject({ outcome: 'not delivered', received: 0, stock: null });
  expect((await kit.now()) - before).toBeGreaterThanOrEqual(FOURTEEN_DAYS_MS);
  expect(await stockOf(db, input.sku)).toBe(5);
});
