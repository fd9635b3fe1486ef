/**
 * The crash the exactly-once design exists for: the worker dies (SIGKILL) right after the deposit
 * transaction committed and before Temporal heard the activity complete. Temporal retries the
 * activity on a new worker; the operation key makes the retry a no-op.
 */
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '../../db/database';
import { loadConfig } from '../../platform/config';
import { connectClient, json, postJson, startTestApi, testEnv, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { spawnWorker, type RoleProcess } from '../support/processes';

describe.each(testDatabases())('%s', (_name, target) => {
  let env: Record<string, string>;
  let db: Database;
  let client: Client;
  let api: { url: string; close(): Promise<void> };
  const workers: RoleProcess[] = [];

  beforeAll(async () => {
    env = testEnv(databaseEnv(await target()));
    const config = loadConfig(env);
    db = await openDatabase(config.database);
    client = await connectClient(config);
    api = await startTestApi({ config, client, db });
  });

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await api?.close();
    await client?.connection.close();
    await db?.destroy();
  });

  test('SIGKILL after the commit: the retry on a new worker completes the deposit, and the balance moved once', async () => {
    const accountId = uniqueTag('acct');
    const crashing = await spawnWorker({ ...env, CONVEYOR_TEST_FAILPOINT: 'deposit-after-commit' });
    workers.push(crashing);

    const res = await postJson(`${api.url}/v1/accounts/${accountId}/deposits`, { amount: 5_000, currency: 'USD' }, { 'Idempotency-Key': uniqueTag('key') });
    expect(res.status).toBe(202);
    const { jobId, statusUrl } = await json(res);

    // The fault really fired: the worker died by SIGKILL, after the transaction had committed.
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const ledger = () => db.selectFrom('ledger_entries').selectAll().where('account_id', '=', accountId).execute();
    expect(await ledger()).toHaveLength(1);
    expect((await json(await fetch(`${api.url}${statusUrl}`))).status).toBe('RUNNING');

    workers.push(await spawnWorker(env));
    const job = await waitFor('the deposit to complete on the new worker', async () => {
      const j = await json(await fetch(`${api.url}${statusUrl}`));
      return j.status === 'COMPLETED' ? j : undefined;
    }, 60_000);

    // The activity ran again (attempt 2+), found its key, and changed nothing.
    expect(job.result).toMatchObject({ appliedNow: false, balance: 5_000, entryId: `${jobId}/apply` });
    expect(job.result.attempts).toBeGreaterThanOrEqual(2);
    expect(await ledger()).toHaveLength(1);
    expect(await json(await fetch(`${api.url}/v1/accounts/${accountId}`))).toMatchObject({ balance: 5_000 });
  }, 90_000);
});
