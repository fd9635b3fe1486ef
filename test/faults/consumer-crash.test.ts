/**
 * A consumer group's worker is SIGKILLed in the middle of a batch. After the restart the batch is
 * retried from the committed offset: no event is skipped, and none has its effect applied twice.
 */
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { appendEvent } from '../../db/events';
import { loadConfig, type Config } from '../../platform/config';
import { createOutboxRelay } from '../../worker/outbox-relay';
import { consumerProgressQuery, streamConsumerWorkflowId } from '../../workflows/streams/definition';
import { connectClient, quietTemporalRuntime, startTestWorker, testEnv, testLogger, uniqueTag, waitFor } from '../support/env';
import { ISOLATED_NAMESPACES } from '../support/namespaces';
import { spawnWorker } from '../support/processes';

const EVENTS = 100;

let env: Record<string, string>;
let config: Config;
let db: Database;
let client: Client;

beforeAll(async () => {
  quietTemporalRuntime();
  env = testEnv({ TEMPORAL_NAMESPACE: ISOLATED_NAMESPACES.consumerCrash, OUTBOX_POLL_INTERVAL: '100ms' });
  config = loadConfig(env);
  db = await openDatabase(config.database);
  client = await connectClient(config);
});

afterAll(async () => {
  await client?.connection.close();
  await db?.destroy();
});

test('SIGKILL mid-batch: after the restart every event is applied exactly once', async () => {
  const tag = uniqueTag('evt');
  for (let i = 0; i < EVENTS; i++) {
    await db.transaction().execute((trx) => appendEvent(trx, { stream: 'users', eventId: `${tag}-${i}`, type: 'UserSignedUp', payload: {}, correlationId: tag }));
  }
  const applied = async () =>
    Number((await db.selectFrom('stream_stats').select('value').where('group_name', '=', 'signup-stats').where('stat_key', '=', 'count:UserSignedUp').executeTakeFirst())?.value ?? 0);
  const committed = async () =>
    Number((await db.selectFrom('consumer_offsets').select('committed_offset').where('group_name', '=', 'signup-stats').executeTakeFirst())?.committed_offset ?? 0);

  const crashing = await spawnWorker({ ...env, CONVEYOR_TEST_FAILPOINT: 'consumer-mid-batch' });
  const relay = createOutboxRelay({ config, db, client, logger: testLogger });
  relay.start();
  try {
    // The fault really fired, mid-batch: some effects applied, the offset not yet committed.
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const before = await applied();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(EVENTS);
    expect(await committed()).toBe(0);

    const worker = await startTestWorker({ config, db });
    try {
      await waitFor('the group to finish the stream', async () => ((await committed()) === EVENTS ? true : undefined), 60_000);
      expect(await applied()).toBe(EVENTS); // none skipped, none doubled
      const progress = await client.workflow.getHandle(streamConsumerWorkflowId('users', 'signup-stats')).query(consumerProgressQuery);
      expect(progress).toMatchObject({ applied: EVENTS - before, duplicatesSkipped: before, committedOffset: EVENTS });
    } finally {
      await worker.stop();
    }
  } finally {
    await relay.stop();
    crashing.child.kill('SIGKILL');
  }
}, 120_000);
