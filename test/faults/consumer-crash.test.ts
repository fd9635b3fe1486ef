/**
 * A consumer group's worker is SIGKILLed in the middle of a batch. After the restart the batch is
 * retried from the committed offset: no event is skipped, and none has its effect applied twice.
 */
import { appendEvent } from '../../db/events';
import { DEFAULT_TENANT } from '../../platform/tenancy';
import { consumerProgressQuery, streamConsumerWorkflowId } from '../../workflows/streams/definition';
import { uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { ISOLATED_NAMESPACES } from '../support/namespaces';

const EVENTS = 100;

let d: TestDeployment;

beforeAll(async () => {
  d = await startTestDeployment({ env: { TEMPORAL_NAMESPACE: ISOLATED_NAMESPACES.consumerCrash, OUTBOX_POLL_INTERVAL: '100ms' }, api: false });
});

afterAll(() => d?.stop());

test('SIGKILL mid-batch: after the restart every event is applied exactly once', async () => {
  const tag = uniqueTag('evt');
  for (let i = 0; i < EVENTS; i++) {
    await d.db.transaction().execute((trx) => appendEvent(trx, { stream: 'users', eventId: `${tag}-${i}`, type: 'UserSignedUp', payload: {}, correlationId: tag }));
  }
  const applied = async () =>
    Number((await d.db.selectFrom('stream_stats').select('value').where('tenant_id', '=', DEFAULT_TENANT).where('group_name', '=', 'signup-stats').where('stat_key', '=', 'count:UserSignedUp').executeTakeFirst())?.value ?? 0);
  const committed = async () =>
    Number((await d.db.selectFrom('consumer_offsets').select('committed_offset').where('tenant_id', '=', DEFAULT_TENANT).where('group_name', '=', 'signup-stats').executeTakeFirst())?.committed_offset ?? 0);

  // The relay starts once the worker is ready: the group's first batch runs in a worker that is
  // armed to SIGKILL itself half-way through it.
  const crashing = await d.spawn('worker', { CONVEYOR_TEST_FAILPOINT: 'consumer-mid-batch' });
  d.startRelay();

  // The fault really fired, mid-batch: some effects applied, the offset not yet committed.
  expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
  const before = await applied();
  expect(before).toBeGreaterThan(0);
  expect(before).toBeLessThan(EVENTS);
  expect(await committed()).toBe(0);

  await d.startWorker();
  await waitFor('the group to finish the stream', async () => ((await committed()) === EVENTS ? true : undefined), 60_000);
  expect(await applied()).toBe(EVENTS); // none skipped, none doubled
  // The offset is committed inside the batch's activity, a moment before the workflow sees the batch's result.
  const group = d.client.workflow.getHandle(streamConsumerWorkflowId(DEFAULT_TENANT, 'users', 'signup-stats'));
  const progress = await waitFor("the batch's result in the workflow", async () => {
    const p = await group.query(consumerProgressQuery);
    return p.committedOffset === EVENTS ? p : undefined;
  });
  expect(progress).toMatchObject({ applied: EVENTS - before, duplicatesSkipped: before, committedOffset: EVENTS });
}, 120_000);
