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
  /** How long a client keeps retrying a POST that failed. */
  retryForSeconds: number;
  /** Upper bound for "everything acknowledged is delivered and nothing is left to do". */
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

/**
 * One fault run on a started system: load with retrying clients, `params.kills` kills of `kind`
 * (each restarted at once), then wait until everything acknowledged is delivered and the system
 * has nothing left to do (so a re-send that is still to come is counted), then count.
 */
export async function runUnderFault(sys: FaultSystem, kind: KillKind, params: FaultParams, tag: string) {
  const ids = (i: number) => `${tag}-${i}`;
  const acknowledged = new Set<string>();
  const kills: KillRecord[] = [];
  const t0 = nowMs();
  const killer = (async () => {
    for (let k = 1; k <= params.kills; k++) {
      await sleep(Math.max(0, t0 + (k * params.seconds * 1000) / (params.kills + 1) - nowMs()));
      const pid = sys.pid(kind);
      const killedAt = nowMs();
      const signal = await sys.kill(kind);
      await sys.restart(kind);
      kills.push({ at: round((killedAt - t0) / 1000, 1), pid, signal, restartedPid: sys.pid(kind), downSeconds: round((nowMs() - killedAt) / 1000, 1) });
    }
  })();
  const load = await openLoop({
    rate: params.rate,
    durationMs: params.seconds * 1000,
    timeoutMs: (params.retryForSeconds + 10) * 1000,
    fire: async (i) => {
      const id = ids(i);
      const giveUp = nowMs() + params.retryForSeconds * 1000;
      for (let backoff = 200; ; backoff = Math.min(2_000, backoff * 2)) {
        try {
          await sys.enqueue(id, AbortSignal.timeout(5_000));
          acknowledged.add(id);
          return;
        } catch (err) {
          if (nowMs() + backoff > giveUp) throw err;
          await sleep(backoff);
        }
      }
    },
  });
  await killer;
  const loadSeconds = (nowMs() - t0) / 1000;

  // Drained: every acknowledged job delivered and nothing unfinished, twice in a row a second apart.
  const drainStart = nowMs();
  let drained = false;
  let calm = 0;
  while (nowMs() - drainStart < params.drainTimeoutSeconds * 1000) {
    const delivered = new Set(sys.deliveries().map((d) => d.jobId));
    const waiting = [...acknowledged].filter((id) => !delivered.has(id)).length;
    const unfinished = await sys.unfinished().catch(() => Infinity);
    calm = waiting === 0 && unfinished === 0 ? calm + 1 : 0;
    if (calm >= 2) {
      drained = true;
      break;
    }
    await sleep(1_000);
  }
  const jobs = new Map(Array.from({ length: load.sent }, (_, i) => [ids(i), acknowledged.has(ids(i))]));
  const counts = countDeliveries(jobs, sys.deliveries());
  return {
    system: sys.name,
    durability: sys.durability,
    kill: kind,
    jobs: load.sent,
    acknowledged: acknowledged.size,
    neverAcknowledged: load.errors,
    errorSamples: load.errorSamples,
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
