/**
 * Two relays on one PostgreSQL outbox: rows are claimed with FOR UPDATE SKIP LOCKED, so each of
 * 500 rows is published exactly once and both relays share the work. (SQLite serialises writers,
 * so this is a PostgreSQL property; in CI TEST_DATABASE_URL is always set.)
 */
import { appendToOutbox } from '../../db/outbox';
import { uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const ROWS = 500;
const postgres = testDatabases().find(([name]) => name === 'PostgreSQL');
// Skipped only without PostgreSQL, which testDatabases() refuses in CI.
const describeOnPostgres = postgres ? describe : describe.skip;

describeOnPostgres('PostgreSQL', () => {
  let d: TestDeployment;

  afterAll(() => d?.stop());

  test(`two relays over ${ROWS} rows: each published exactly once, both did work`, async () => {
    // No worker on this task queue: the welcome workflows are started and simply wait.
    d = await startTestDeployment({ env: { ...databaseEnv(await postgres![1]()), OUTBOX_POLL_INTERVAL: '50ms' }, api: false });
    const { db, client } = d;
    const relays = ['relay-a', 'relay-b'].map((identity) => d.startRelay({ identity }));
    const batch = uniqueTag('pair');
    for (let chunk = 0; chunk < ROWS / 50; chunk++) {
      await db.transaction().execute(async (trx) => {
        for (let i = chunk * 50; i < (chunk + 1) * 50; i++) {
          const userId = `${batch}-${i}`;
          await appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: `${userId}@example.com`, name: 'Ada' }, correlationId: batch });
        }
      });
    }
    await waitFor('every row to be published', async () => {
      const left = await db.selectFrom('outbox').select('seq').where('published_at', 'is', null).execute();
      return left.length === 0 ? true : undefined;
    }, 120_000);

    const [a, b] = relays.map((r) => r.stats.published);
    expect(a! + b!).toBe(ROWS); // every publish was counted once: no row went out twice
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const byRelay = await db.selectFrom('outbox').select(['published_by', db.fn.countAll<number>().as('n')]).groupBy('published_by').execute();
    expect(Object.fromEntries(byRelay.map((r) => [r.published_by, Number(r.n)]))).toEqual({ 'relay-a': a, 'relay-b': b });
    // Visibility is eventually consistent: wait until it has indexed the starts, then compare.
    const started = await waitFor(`${ROWS} workflows to be listed`, async () => {
      const { count } = await client.workflow.count(`WorkflowId STARTS_WITH "welcome-email:${batch}-"`);
      return count >= ROWS ? count : undefined;
    });
    expect(started).toBe(ROWS);
  }, 180_000);
});
