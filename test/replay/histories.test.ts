/**
 * Replay saved histories against today's workflow code. A change that would make a running
 * workflow take another path on replay (a non-deterministic change) fails here, not in production.
 * - The order saga's main branches (`npm run replay:record` rewrites them).
 * - Two deposits, kept as they are: one from before its steps became local activities and one
 *   from after. They pin the `deposit-local-activities` patch: deposits in flight at a deploy
 *   must finish on the new code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietTemporalRuntime, workflowBundle } from '../support/env';

const dir = path.join(__dirname, 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

beforeAll(() => quietTemporalRuntime());

test('the saved histories cover every main branch of the order and its shipment', () => {
  const branches = ['completed', 'out-of-stock', 'insufficient-funds', 'parcel-lost', 'canceled', 'payment-timeout', 'pick-up-timeout'];
  expect(files).toEqual(expect.arrayContaining(branches.map((b) => `${b}.order.json`)));
  expect(files).toEqual(expect.arrayContaining(['completed.shipment.json', 'canceled.shipment.json']));
});

test('the saved deposit histories cover both sides of the local-activities patch', () => {
  expect(files).toEqual(expect.arrayContaining(['dispatched-activities.deposit.json', 'local-activities.deposit.json']));
});

test('every saved history replays without a determinism error', async () => {
  const histories = files.map((file) => ({ workflowId: file, history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: workflowBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
