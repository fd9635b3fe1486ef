/**
 * Open-loop load: request i is due at t0 + i/rate whatever happened to earlier ones, and its
 * latency is measured from that intended time, not from when it actually went out. A stalled
 * server therefore shows up in the percentiles (coordinated omission corrected) instead of
 * silently slowing the load generator down.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import { round } from './procs';

export function newHistogram(): hdr.Histogram {
  // Microseconds, 1 µs to 1 hour, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function summarize(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => round(us / 1000, 2);
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    meanMs: ms(h.mean),
  };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on this machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

export interface OpenLoopResult {
  targetRate: number;
  sent: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  /** Successful requests per second of wall time, first intended send to last answer. */
  achievedRate: number;
  latency: LatencySummary;
  /** Intended send time of each request, by index (for end-to-end latency). */
  intendedAt: number[];
}

/** The knee: why a run shows the system not keeping up (errors, rate or p99), or undefined if it kept up. */
export function saturated(r: OpenLoopResult): string | undefined {
  if (r.errors > r.sent * 0.01) return `${r.errors} errors`;
  if (r.achievedRate < r.targetRate * 0.9) return `achieved ${r.achievedRate}/s`;
  if (r.latency.p99Ms > 1000) return `p99 ${r.latency.p99Ms} ms`;
  return undefined;
}

/**
 * Fire `count` = rate × duration requests on schedule; every request has a timeout, so the
 * run ends within duration + timeout.
 */
export async function openLoop(options: {
  rate: number;
  durationMs: number;
  timeoutMs?: number;
  fire: (i: number, signal: AbortSignal) => Promise<void>;
}): Promise<OpenLoopResult> {
  const { rate, durationMs } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const count = Math.max(1, Math.round((rate * durationMs) / 1000));
  const histogram = newHistogram();
  const intendedAt: number[] = new Array(count);
  const pending: Array<Promise<void>> = [];
  let ok = 0;
  let errors = 0;
  let lastDone = 0;
  const errorSamples: string[] = [];
  const t0 = nowMs() + 20;
  let next = 0;
  while (next < count) {
    const now = nowMs();
    // Fire everything that is due (several per tick at high rates), then sleep until the next one.
    while (next < count && t0 + (next * 1000) / rate <= now) {
      const i = next++;
      const intended = t0 + (i * 1000) / rate;
      intendedAt[i] = intended;
      pending.push(
        options.fire(i, AbortSignal.timeout(timeoutMs)).then(
          () => {
            const done = nowMs();
            histogram.recordValue(Math.max(1, Math.round((done - intended) * 1000)));
            ok++;
            lastDone = Math.max(lastDone, done);
          },
          (err: unknown) => {
            errors++;
            if (errorSamples.length < 5) errorSamples.push(String((err as Error)?.message ?? err));
          },
        ),
      );
    }
    if (next < count) await sleep(Math.max(0, t0 + (next * 1000) / rate - nowMs()));
  }
  await Promise.all(pending);
  const result: OpenLoopResult = {
    targetRate: rate,
    sent: count,
    ok,
    errors,
    errorSamples,
    achievedRate: round(ok / Math.max(0.001, (lastDone - t0) / 1000), 1),
    latency: summarize(histogram),
    intendedAt,
  };
  histogram.destroy();
  return result;
}

/** Keep-alive HTTP, lighter than fetch, so the load generator takes less of the two cores. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** POST a JSON body (with Conveyor's API key when given); resolves on 202 Accepted. */
export function postJson(url: string, body: unknown, signal: AbortSignal, apiKey?: string): Promise<number> {
  return request(url, 'POST', 202, signal, JSON.stringify(body), apiKey);
}

/** POST a JSON body; resolves with the status on 200 or 202 (a repeat of an accepted job may answer 200). */
export function postAccepted(url: string, body: unknown, signal: AbortSignal, apiKey?: string): Promise<number> {
  return request(url, 'POST', [200, 202], signal, JSON.stringify(body), apiKey);
}

/** GET; resolves on 200. */
export function getOk(url: string, signal: AbortSignal): Promise<number> {
  return request(url, 'GET', 200, signal);
}

function request(url: string, method: string, expected: number | number[], signal: AbortSignal, payload?: string, apiKey?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method,
      agent,
      signal,
      headers: {
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => ([expected].flat().includes(res.statusCode!) ? resolve(res.statusCode!) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export function closeHttpAgent(): void {
  agent.destroy();
}
