/**
 * The lane API's wakes (api/lanes.ts, createLaneWaker), on real timers: the first wake of a
 * partition goes at once; wakes asked for while one is in flight or within the interval become
 * one more signal, which starts after the last of them (so no commit is left without a wake);
 * an idle partition's next wake goes at once again; a failed wake is retried. The gateway is a
 * recorder: what is under test is when signals start, not Temporal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createLaneWaker } from '../../api/lanes';
import { createLogger } from '../../platform/logger';
import type { TemporalGateway, WorkflowStart } from '../../platform/temporal';
import { waitFor } from '../support/env';

const INTERVAL = 200;
const start = (partition: number) => ({ workflowId: `lane:test:notification-email:${partition}` }) as WorkflowStart;

function recordingGateway(opts: { latencyMs: number; failFirst?: number }) {
  const signals: Array<{ workflowId: string; at: number }> = [];
  let failures = opts.failFirst ?? 0;
  const gateway = {
    async signalWithStart(s: WorkflowStart) {
      const at = Date.now();
      await sleep(opts.latencyMs);
      if (failures-- > 0) throw new Error('server unavailable');
      signals.push({ workflowId: s.workflowId, at });
    },
  } as unknown as TemporalGateway;
  return { gateway, signals };
}

const logger = createLogger('silent', 'lane-waker-test');

test('a burst of wakes costs two signals per partition, the last one starting after the last wake', async () => {
  const { gateway, signals } = recordingGateway({ latencyMs: 20 });
  const waker = createLaneWaker(gateway, logger, INTERVAL);
  const t0 = Date.now();
  let lastWake = 0;
  // Wakes for half an interval, as a burst of commits asks for them.
  while (Date.now() - t0 < INTERVAL / 2) {
    waker.wake([start(0), start(1)]);
    lastWake = Date.now();
    await sleep(5);
  }
  await waitFor('the trailing signals', async () => (signals.length >= 4 ? true : undefined), 5_000);
  await sleep(2 * INTERVAL); // nothing more follows
  for (const partition of [0, 1]) {
    const mine = signals.filter((s) => s.workflowId === start(partition).workflowId);
    expect(mine).toHaveLength(2);
    expect(mine[0]!.at - t0).toBeLessThan(50); // the first wake was not held back
    expect(mine[1]!.at).toBeGreaterThanOrEqual(lastWake); // the last commit is followed by a signal
    expect(mine[1]!.at - mine[0]!.at).toBeGreaterThanOrEqual(INTERVAL - 5);
  }
});

test('an idle partition is woken at once, and a failed wake is retried until it goes through', async () => {
  const { gateway, signals } = recordingGateway({ latencyMs: 5, failFirst: 1 });
  const waker = createLaneWaker(gateway, logger, INTERVAL);
  waker.wake([start(0)]); // fails, retried after its backoff
  await waitFor('the retried signal', async () => (signals.length === 1 ? true : undefined), 5_000);
  await sleep(INTERVAL + 50); // the partition has been quiet for longer than the interval
  const asked = Date.now();
  waker.wake([start(0)]);
  await waitFor('the idle partition’s signal', async () => (signals.length === 2 ? true : undefined), 5_000);
  expect(signals[1]!.at - asked).toBeLessThan(50);
});
