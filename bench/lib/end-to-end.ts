/**
 * One end-to-end measurement of a running system: jobs enqueued at a fixed open-loop rate (latency
 * from each job's intended send time to its delivery), then a burst enqueued as fast as
 * `burstConcurrency` callers can (throughput until the last delivery).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningSystem } from '../systems';
import { newHistogram, nowMs, openLoop, summarize, type OpenLoopResult } from './load';
import { phaseMeter, round } from './procs';

export interface EndToEndParams {
  rate: number;
  seconds: number;
  burstJobs: number;
  burstConcurrency: number;
}

export const withoutSendTimes = ({ intendedAt: _drop, ...rest }: OpenLoopResult) => rest;

export async function waitDelivered(sys: RunningSystem, expected: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sys.deliveredCount() >= expected) return true;
    await sleep(200);
  }
  return false;
}

export async function measureEndToEnd(sys: RunningSystem, p: EndToEndParams, tag = '') {
  const processes = () => sys.processes().concat({ name: 'harness (load + SMTP sink)', pid: process.pid });
  const meter = phaseMeter(processes());
  const enqueue = await openLoop({ rate: p.rate, durationMs: p.seconds * 1000, fire: (i, signal) => sys.enqueue(`${tag}rate-${i}`, signal) });
  const allIn = await waitDelivered(sys, enqueue.ok, 60_000);
  const usage = meter.finish();
  const { byId } = sys.deliveries();
  const h = newHistogram();
  let delivered = 0;
  enqueue.intendedAt.forEach((intended, i) => {
    const at = byId.get(`${tag}rate-${i}`)?.[0];
    if (at === undefined) return;
    delivered++;
    h.recordValue(Math.max(1, Math.round((at - intended) * 1000)));
  });
  const endToEnd = summarize(h);
  h.destroy();

  const before = sys.deliveredCount();
  const burstMeter = phaseMeter(processes());
  const t0 = nowMs();
  let nextJob = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: p.burstConcurrency }, async () => {
      while (nextJob < p.burstJobs) {
        const i = nextJob++;
        await sys.enqueue(`${tag}burst-${i}`, AbortSignal.timeout(10_000)).catch(() => errors++);
      }
    }),
  );
  const enqueueSeconds = (nowMs() - t0) / 1000;
  const allDelivered = await waitDelivered(sys, before + p.burstJobs - errors, 180_000);
  const lastAt = Math.max(...[...sys.deliveries().byId.entries()].filter(([id]) => id.startsWith(`${tag}burst-`)).flatMap(([, at]) => at));
  const seconds = (lastAt - t0) / 1000;
  return {
    rate: { ...withoutSendTimes(enqueue), delivered, allDelivered: allIn, endToEnd, usage },
    burst: {
      jobs: p.burstJobs,
      errors,
      enqueueSeconds: round(enqueueSeconds, 2),
      allDelivered,
      seconds: round(seconds, 2),
      throughputPerSecond: round((p.burstJobs - errors) / seconds, 1),
      usage: burstMeter.finish(),
    },
  };
}
