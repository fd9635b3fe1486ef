/**
 * The crash the exactly-once design exists for: the worker dies (SIGKILL) right after the deposit
 * transaction committed and before Temporal heard the step complete. Temporal hands the deposit's
 * workflow task to a new worker, which runs the step again; the operation key makes it a no-op.
 */
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;

  beforeAll(async () => {
    d = await startTestDeployment({ env: databaseEnv(await target()) });
  });

  afterAll(() => d?.stop());

  test('SIGKILL after the commit: the retry on a new worker completes the deposit, and the balance moved once', async () => {
    const accountId = uniqueTag('acct');
    const crashing = await d.spawn('worker', { CONVEYOR_TEST_FAILPOINT: 'deposit-after-commit' });

    const res = await postJson(`${d.url}/v1/accounts/${accountId}/deposits`, { amount: 5_000, currency: 'USD' }, { 'Idempotency-Key': uniqueTag('key') });
    expect(res.status).toBe(202);
    const { jobId, statusUrl } = await json(res);

    // The fault really fired: the worker died by SIGKILL, after the transaction had committed.
    expect(await crashing.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const ledger = () => d.db.selectFrom('ledger_entries').selectAll().where('account_id', '=', accountId).execute();
    expect(await ledger()).toHaveLength(1);
    expect((await json(await fetch(`${d.url}${statusUrl}`))).status).toBe('RUNNING');

    await d.spawn('worker');
    const job = await waitFor('the deposit to complete on the new worker', async () => {
      const j = await json(await fetch(`${d.url}${statusUrl}`));
      return j.status === 'COMPLETED' ? j : undefined;
    }, 60_000);

    // The killed worker's workflow task timed out and a new one ran the step again: it found its
    // key (appliedNow false) and changed nothing. (A local activity's attempt count starts over
    // in the new workflow task, so the history, not `attempts`, shows the retry.)
    expect(job.result).toMatchObject({ appliedNow: false, balance: 5_000, entryId: `${jobId}/apply` });
    const { events } = await d.client.workflow.getHandle(jobId).fetchHistory();
    expect(events?.filter((e) => e.workflowTaskTimedOutEventAttributes).length).toBeGreaterThanOrEqual(1);
    expect(await ledger()).toHaveLength(1);
    expect(await json(await fetch(`${d.url}/v1/accounts/${accountId}`))).toMatchObject({ balance: 5_000 });
  }, 90_000);
});
