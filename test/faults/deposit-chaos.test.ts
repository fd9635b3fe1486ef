/**
 * 200 deposits to 10 accounts while the worker is SIGKILLed and restarted again and again.
 * Afterwards every acknowledged deposit is applied exactly once, checked against the client's own
 * log: lost = 0, duplicated = 0, unexpected = 0, and each balance is the sum the client sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import type { RoleProcess } from '../support/processes';

const DEPOSITS = 200;
const ACCOUNTS = 10;

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  let worker: RoleProcess | undefined;

  beforeAll(async () => {
    d = await startTestDeployment({ env: databaseEnv(await target()) });
  });

  afterAll(() => d?.stop());

  test('random worker SIGKILLs: lost = 0, duplicated = 0, unexpected = 0', async () => {
    const batch = uniqueTag('chaos');
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `${batch}-${i}`);
    const running = `WorkflowId STARTS_WITH "deposit:${batch}-" AND ExecutionStatus = "Running"`;
    worker = await d.spawn('worker');

    // Chaos: kill the worker at random moments while deposits are in flight, restart it.
    let sending = true;
    const kills: Array<{ signal: NodeJS.Signals | null; inFlight: number }> = [];
    const chaos = (async () => {
      // Bounded: it stops once the client has sent everything and at least three kills landed.
      while (sending || kills.length < 3) {
        await sleep(700 + Math.random() * 1_300); // a random moment, on purpose: not a wait for a condition
        const victim = worker!;
        const inFlight = (await d.client.workflow.count(running)).count;
        victim.child.kill('SIGKILL');
        kills.push({ signal: (await victim.exited).signal, inFlight });
        worker = await d.spawn('worker');
      }
    })();

    // The client: each deposit has its own Idempotency-Key and is retried until acknowledged.
    const sent: Array<{ accountId: string; amount: number; jobId: string }> = [];
    try {
      for (let i = 0; i < DEPOSITS; i++) {
        const accountId = accounts[i % ACCOUNTS]!;
        const amount = 1 + Math.floor(Math.random() * 10_000);
        const key = `${batch}-deposit-${i}`;
        const acknowledged = await waitFor(`deposit ${i} to be acknowledged`, async () => {
          const res = await postJson(`${d.url}/v1/accounts/${accountId}/deposits`, { amount, currency: 'EUR' }, { 'Idempotency-Key': key });
          return res.status === 202 || res.status === 200 ? json(res) : undefined;
        });
        sent.push({ accountId, amount, jobId: acknowledged.jobId });
        await sleep(25); // pacing, not waiting: deposits keep arriving while the kills land
      }
    } finally {
      sending = false; // also when the client fails: the chaos loop must end with the test
    }
    await chaos;

    await waitFor('every deposit workflow to finish', async () => ((await d.client.workflow.count(running)).count === 0 ? true : undefined), 120_000);
    const failed = await d.client.workflow.count(`WorkflowId STARTS_WITH "deposit:${batch}-" AND ExecutionStatus != "Completed"`);
    expect(failed.count).toBe(0);

    // The faults really fired, each while deposits were in flight.
    expect(kills.length).toBeGreaterThanOrEqual(3);
    expect(kills.every((k) => k.signal === 'SIGKILL')).toBe(true);
    expect(kills.some((k) => k.inFlight > 0)).toBe(true);

    const entries = await d.db.selectFrom('ledger_entries').select(['entry_id', 'account_id', 'amount']).where('account_id', 'in', accounts).execute();
    const expected = new Map(sent.map((s) => [`${s.jobId}/apply`, s]));
    const seen = new Map<string, number>();
    for (const e of entries) seen.set(e.entry_id, (seen.get(e.entry_id) ?? 0) + 1);
    const lost = [...expected.keys()].filter((id) => !seen.has(id));
    const duplicated = [...seen.entries()].filter(([, n]) => n > 1);
    const unexpected = [...seen.keys()].filter((id) => !expected.has(id));
    expect({ acknowledged: sent.length, lost: lost.length, duplicated: duplicated.length, unexpected: unexpected.length }).toEqual({
      acknowledged: DEPOSITS,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
    });

    for (const accountId of accounts) {
      const total = sent.filter((s) => s.accountId === accountId).reduce((sum, s) => sum + s.amount, 0);
      expect({ accountId, balance: (await json(await fetch(`${d.url}/v1/accounts/${accountId}`))).balance }).toEqual({ accountId, balance: total });
    }
  }, 240_000);
});
