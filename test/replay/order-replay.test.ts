/**
 * Replay the saved histories of the order saga's main branches (test/replay/histories, written by
 * `npm run replay:record`) against today's workflow code. A change that would make a running
 * order take another path on replay (a non-deterministic change) fails here, not in production.
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

test('every saved history replays without a determinism error', async () => {
  const histories = files.map((file) => ({ workflowId: file, history: temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) }));
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: workflowBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  expect(failures).toEqual([]);
});
