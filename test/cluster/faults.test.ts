/**
 * Faults on the split cluster (.ci/cluster.sh: frontend, history, matching and worker as four
 * processes on PostgreSQL). A burst of welcome emails through the real API, and mid-burst:
 * SIGKILL the history process (restarted 3 s later, as a supervisor would), or SIGKILL one of two
 * worker processes. Every job that got a 202 must complete, and send each of its two emails
 * exactly once (counted in the mail catcher; with a worker killed mid-send, once per Message-ID). Skipped unless CONVEYOR_TEST_CLUSTER_DIR names the
 * running cluster. Both faults are in one file so they never overlap.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMailbox } from '../../platform/mail-catcher';
import { postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

const clusterDir = process.env.CONVEYOR_TEST_CLUSTER_DIR;
const describeCluster = clusterDir ? describe : describe.skip;
const root = path.resolve(__dirname, '..', '..');
const BURST = 150;
const CONCURRENCY = 10;

interface BurstResult {
  accepted: string[];
  /** Users whose POST got anything but 202 (503 while Temporal was away), with that status. */
  refused: Array<{ userId: string; status: number | string }>;
}

/** POST BURST sign-ups, CONCURRENCY at a time; `fault` runs once, when `when(accepted)` first holds (during the POSTs, or after them). */
async function burst(url: string, when: (accepted: number) => boolean | Promise<boolean>, fault: () => Promise<void>): Promise<BurstResult> {
  const result: BurstResult = { accepted: [], refused: [] };
  const users = Array.from({ length: BURST }, () => uniqueTag('u'));
  let faulted: Promise<void> | undefined;
  const post = async (userId: string) => {
    const res = await postJson(`${url}/v1/welcome-emails`, { userId, email: `${userId}@example.com`, name: 'Ada' }).catch((err: Error) => err);
    if (res instanceof Error) result.refused.push({ userId, status: res.message });
    else if (res.status === 202) result.accepted.push(userId);
    else result.refused.push({ userId, status: res.status });
    if (!faulted && (await when(result.accepted.length))) faulted = fault();
  };
  const queue = [...users];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let u = queue.shift(); u; u = queue.shift()) await post(u);
  }));
  // The POSTs may all be answered before the condition holds (it can wait for the workers'
  // progress): then the fault fires while the accepted jobs are still being worked off.
  if (!faulted) {
    await waitFor('the fault condition', async () => ((await when(result.accepted.length)) ? true : undefined), 60_000);
    faulted = fault();
  }
  await faulted;
  return result;
}

describeCluster('on the split cluster', () => {
  // A deployment per test (its own task queue and mailbox), so one test's workers never serve the other's jobs.
  let d: TestDeployment;
  beforeEach(async () => {
    const [, target] = testDatabases().at(-1)!; // PostgreSQL in CI, like a real deployment
    d = await startTestDeployment({ env: { ...databaseEnv(await target()), WELCOME_FOLLOW_UP_DELAY: '1s' }, mail: true });
  });
  afterEach(() => d?.stop());

  const mailCount = () => fs.promises.readdir(d.mailboxDir).then((names) => names.filter((n) => n.endsWith('.eml')).length, () => 0);

  /**
   * Every accepted job: COMPLETED, one welcome and one follow-up email. Jobs refused with 503 may
   * have started anyway (docs/deployment.md, item 5): then also one of each. `killedWorker`: a
   * worker died mid-send, so an email whose SMTP transfer it had finished but not yet recorded is
   * sent again by the retry (docs/architecture.md, "the window that remains"); such a resend is
   * the same logical email (the same Message-ID), so each key must still have exactly one
   * Message-ID. Without a worker death not even a resend is allowed.
   */
  async function expectEachOnce({ accepted, refused }: BurstResult, { killedWorker }: { killedWorker: boolean }) {
    const query = (status?: string) => `TaskQueue = "${d.config.temporal.taskQueue}"${status ? ` AND ExecutionStatus = "${status}"` : ''}`;
    await waitFor('every accepted job to complete', async () => {
      const [all, completed] = await Promise.all([d.client.workflow.count(query()), d.client.workflow.count(query('Completed'))]);
      return completed.count === all.count && all.count >= accepted.length ? true : undefined;
    }, 240_000);
    const copies = new Map<string, number>();
    const messageIds = new Map<string, Set<string | undefined>>();
    for (const m of await readMailbox(d.mailboxDir)) {
      copies.set(m.idempotencyKey!, (copies.get(m.idempotencyKey!) ?? 0) + 1);
      messageIds.set(m.idempotencyKey!, (messageIds.get(m.idempotencyKey!) ?? new Set()).add(m.messageId));
    }
    const startedAnyway = refused.filter((r) => copies.has(`welcome-email:${r.userId}/welcome`)).map((r) => r.userId);
    for (const userId of [...accepted, ...startedAnyway]) {
      for (const key of [`welcome-email:${userId}/welcome`, `welcome-email:${userId}/follow-up`]) {
        expect([key, messageIds.get(key)?.size]).toEqual([key, 1]);
        if (!killedWorker) expect([key, copies.get(key)]).toEqual([key, 1]);
      }
    }
    const resent = [...copies.values()].filter((n) => n > 1).length;
    console.log(
      `${accepted.length} accepted, all completed with one welcome and one follow-up each; ${resent} emails resent with the same Message-ID; ` +
        `${refused.length} refused (${[...new Set(refused.map((r) => r.status))].join(', ') || 'none'}), of which ${startedAnyway.length} had started anyway`,
    );
  }

  test('SIGKILL of the history process mid-burst (restarted 3 s later): every 202 completes once', async () => {
    const server = process.env.CONVEYOR_CLUSTER_SERVER;
    const config = process.env.CONVEYOR_CLUSTER_CONFIG;
    if (!server || !config) throw new Error('CONVEYOR_CLUSTER_SERVER and CONVEYOR_CLUSTER_CONFIG come from .ci/cluster.sh');
    await d.spawn('worker');
    const pidFile = path.join(clusterDir!, 'history.pid');
    const result = await burst(d.url, (accepted) => accepted >= BURST / 4, async () => {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      process.kill(pid, 'SIGKILL');
      await waitFor('the history process to be gone', async () => (fs.existsSync(`/proc/${pid}`) ? undefined : true), 10_000);
      await sleep(3_000);
      // The same command .ci/cluster.sh uses; its pid file lets the script stop it at the end.
      const log = fs.openSync(path.join(clusterDir!, 'history.log'), 'a');
      const history = spawn(server, ['--config-file', config, '--allow-no-auth', 'start', '--service', 'history'], { cwd: root, detached: true, stdio: ['ignore', log, log] });
      fs.closeSync(log);
      history.unref();
      fs.writeFileSync(pidFile, String(history.pid));
    });
    expect(result.accepted.length).toBeGreaterThan(BURST / 4);
    await expectEachOnce(result, { killedWorker: false });
  }, 300_000);

  test('SIGKILL of one of two worker processes mid-burst: every 202 completes once', async () => {
    const doomed = await d.spawn('worker');
    await d.spawn('worker');
    const result = await burst(d.url, async (accepted) => accepted >= BURST / 3 && (await mailCount()) >= 10, async () => {
      doomed.child.kill('SIGKILL');
      expect((await doomed.exited).signal).toBe('SIGKILL');
    });
    // No Temporal outage here: every POST is accepted.
    expect(result.refused).toEqual([]);
    await expectEachOnce(result, { killedWorker: true });
  }, 300_000);
});
