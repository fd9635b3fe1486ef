/**
 * Fault runs (issue 17): jobs arrive at an open-loop rate while one kind of process is SIGKILLed
 * and restarted (the worker, the API, or the server: Temporal's dev server or redis-server); then
 * every email is counted by job ID. A client whose POST failed retries it with the same ID until
 * it is accepted (as a real client does; the job ID is the business key, so a retry is safe), so
 * "lost" means acknowledged and never delivered.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowMs, openLoop } from './load';
import { round } from './procs';

export type KillKind = 'worker' | 'api' | 'server';
export const KILL_KINDS: KillKind[] = ['worker', 'api', 'server'];

/** One delivered email: the job it belongs to (undefined: none of this system's jobs) and its Message-ID. */
export interface Delivery {
  jobId: string | undefined;
  messageId: string;
}

export interface FaultSystem {
  /** Row label, e.g. 'lane', 'bullmq-aof'. */
  name: string;
  /** What an acknowledged job survives: printed beside the counts. */
  durability: string;
  /** Enqueue through the front door; resolves when the system acknowledged the job (200/202). */
  enqueue(id: string, signal: AbortSignal): Promise<unknown>;
  deliveries(): Delivery[];
  /** The process `kind` as it runs now: the one a kill hits. */
  pid(kind: KillKind): number;
  /** SIGKILL it and wait until it is gone; resolves with how it ended (must be SIGKILL). */
  kill(kind: KillKind): Promise<NodeJS.Signals | null>;
  /** Start it again at the same address (and, for a server, on the same files). */
  restart(kind: KillKind): Promise<void>;
  /** Jobs the system has not finished (queued, running, waiting for a retry); 0 when nothing more can be sent. */
  unfinished(): Promise<number>;
  stop(): Promise<void>;
}

export interface FaultParams {
  rate: number;
  seconds: number;
  /** Kills of the one kind, spread evenly over the load. */
  kills: number;
  /** Jobs enqueued in a burst just before each kill (32 callers), so work is queued and in flight when it lands. */
  burstBeforeKill: number;
  /** How far into that burst the kill lands. */
  killIntoBurstMs: number;
  /** How long a client keeps retrying a POST that failed. */
  retryForSeconds: number;
  /** Upper bound for "nothing is left to do" after the load. */
  drainTimeoutSeconds: number;
}

export interface FaultCounts {
  /** Acknowledged (200/202), never delivered. */
  lost: number;
  /** Extra copies carrying a Message-ID already delivered for that job: a receiver can drop them. */
  resentSameMessageId: number;
  /** Extra copies with a different Message-ID: a second, distinct email for one job. */
  duplicated: number;
  /** Emails that belong to no job of the run. */
  unexpected: number;
  /** Jobs never acknowledged (every retry failed) that were delivered anyway: not an error. */
  deliveredWithoutAck: number;
  /** Up to 10 job IDs per kind of failure, to look them up. */
  examples: { lost: string[]; resentSameMessageId: string[]; duplicated: string[] };
}

/** Classify every delivery by job ID; `jobs` maps each job of the run to whether it was acknowledged. */
export function countDeliveries(jobs: Map<string, boolean>, deliveries: Delivery[]): FaultCounts {
  const byJob = new Map<string, string[]>();
  let unexpected = 0;
  for (const d of deliveries) {
    if (d.jobId === undefined || !jobs.has(d.jobId)) unexpected++;
    else byJob.set(d.jobId, [...(byJob.get(d.jobId) ?? []), d.messageId]);
  }
  const counts: FaultCounts = { lost: 0, resentSameMessageId: 0, duplicated: 0, unexpected, deliveredWithoutAck: 0, examples: { lost: [], resentSameMessageId: [], duplicated: [] } };
  const example = (kind: keyof FaultCounts['examples'], id: string) => counts.examples[kind].length < 10 && counts.examples[kind].push(id);
  for (const [id, acknowledged] of jobs) {
    const copies = byJob.get(id) ?? [];
    if (copies.length === 0) {
      if (acknowledged) {
        counts.lost++;
        example('lost', id);
      }
      continue;
    }
    if (!acknowledged) counts.deliveredWithoutAck++;
    const distinct = new Set(copies).size;
    if (copies.length > distinct) {
      counts.resentSameMessageId += copies.length - distinct;
      example('resentSameMessageId', id);
    }
    if (distinct > 1) {
      counts.duplicated += distinct - 1;
      example('duplicated', id);
    }
  }
  return counts;
}

export interface KillRecord {
  /** Seconds after the load began. */
  at: number;
  pid: number;
  signal: NodeJS.Signals | null;
  /** The process that took its place. */
  restartedPid: number;
  /** From the kill until the new process is ready. */
  downSeconds: number;
}

/** Every job ID a fault run may use (the steady load's, then each kill's burst), so users can exist before it starts. */
export function faultJobIds(tag: string, params: FaultParams): string[] {
  return [
    ...Array.from({ length: Math.max(1, Math.round(params.rate * params.seconds)) }, (_, i) => `${tag}-${i}`),
    ...Array.from({ length: params.kills }, (_, k) => Array.from({ length: params.burstBeforeKill }, (_, j) => `${tag}-k${k + 1}-${j}`)).flat(),
  ];
}

/**
 * One fault run on a started system: a steady open-loop load with retrying clients, and
 * `params.kills` kills of `kind`, each landing `killIntoBurstMs` into a burst of
 * `burstBeforeKill` jobs (so work is queued and in flight when the process dies, whatever the
 * system's speed) and restarted at once; then wait until the system has nothing left to do (so a
 * re-send that is still to come is counted), then count.
 */
export async function runUnderFault(sys: FaultSystem, kind: KillKind, params: FaultParams, tag: string) {
  const acknowledged = new Set<string>();
  const failures: string[] = [];
  let neverAcknowledged = 0;
  /** Enqueue like a real client: a failed POST is retried with the same ID (safe: the ID is the key). */
  const enqueueRetrying = async (id: string) => {
    const giveUp = nowMs() + params.retryForSeconds * 1000;
    for (let backoff = 200; ; backoff = Math.min(2_000, backoff * 2)) {
      try {
        await sys.enqueue(id, AbortSignal.timeout(5_000));
        acknowledged.add(id);
        return;
      } catch (err) {
        if (nowMs() + backoff > giveUp) {
          neverAcknowledged++;
          if (failures.length < 5) failures.push(`${id}: ${(err as Error)?.message ?? err}`);
          return;
        }
        await sleep(backoff);
      }
    }
  };
  const kills: KillRecord[] = [];
  const bursts: Array<Promise<void>> = [];
  const t0 = nowMs();
  const killer = (async () => {
    for (let k = 1; k <= params.kills; k++) {
      await sleep(Math.max(0, t0 + (k * params.seconds * 1000) / (params.kills + 1) - nowMs()));
      const burst = Array.from({ length: params.burstBeforeKill }, (_, j) => `${tag}-k${k}-${j}`);
      bursts.push(
        Promise.all(Array.from({ length: 32 }, async () => {
          for (let id = burst.shift(); id !== undefined; id = burst.shift()) await enqueueRetrying(id);
        })).then(() => undefined),
      );
      await sleep(params.killIntoBurstMs);
      const pid = sys.pid(kind);
      const killedAt = nowMs();
      const signal = await sys.kill(kind);
      await sys.restart(kind);
      kills.push({ at: round((killedAt - t0) / 1000, 1), pid, signal, restartedPid: sys.pid(kind), downSeconds: round((nowMs() - killedAt) / 1000, 1) });
    }
  })();
  await openLoop({
    rate: params.rate,
    durationMs: params.seconds * 1000,
    timeoutMs: (params.retryForSeconds + 10) * 1000,
    fire: (i) => enqueueRetrying(`${tag}-${i}`),
  });
  await killer;
  await Promise.all(bursts);
  const loadSeconds = (nowMs() - t0) / 1000;

  // Drained: the system has nothing unfinished, in two checks a second apart when every
  // acknowledged job was delivered, in five when some were not (those are lost: nothing is left
  // that could still send them).
  const drainStart = nowMs();
  let drained = false;
  let calm = 0;
  while (nowMs() - drainStart < params.drainTimeoutSeconds * 1000) {
    const delivered = new Set(sys.deliveries().map((d) => d.jobId));
    const waiting = [...acknowledged].filter((id) => !delivered.has(id)).length;
    const unfinished = await sys.unfinished().catch(() => Infinity);
    calm = unfinished === 0 ? calm + 1 : 0;
    if (calm >= (waiting === 0 ? 2 : 5)) {
      drained = true;
      break;
    }
    await sleep(1_000);
  }
  const jobs = new Map(faultJobIds(tag, params).map((id) => [id, acknowledged.has(id)]));
  const counts = countDeliveries(jobs, sys.deliveries());
  return {
    system: sys.name,
    durability: sys.durability,
    kill: kind,
    jobs: jobs.size,
    acknowledged: acknowledged.size,
    neverAcknowledged,
    errorSamples: failures,
    kills,
    /** Every kill hit a live process, which died of SIGKILL and was replaced by a new one. */
    faultProven: kills.length === params.kills && kills.every((k) => k.signal === 'SIGKILL' && k.restartedPid !== k.pid),
    loadSeconds: round(loadSeconds, 1),
    drained,
    drainSeconds: round((nowMs() - drainStart) / 1000, 1),
    ...counts,
  };
}

export type FaultResult = Awaited<ReturnType<typeof runUnderFault>>;
