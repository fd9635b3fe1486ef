/**
 * BullMQ for the fault runs: the same API (bench/bullmq-api.ts), worker (bench/worker-proc.ts,
 * Conveyor's idempotent sendEmail) and SMTP sink as bench/systems.ts, with each process killable
 * and restartable at its address: the worker, the API, and redis-server (on its AOF file when
 * it has one; in memory, a restart comes back empty).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { startMailCatcher } from '../../platform/mail-catcher';
import { freePort } from '../../platform/ports';
import { readDeliveries, startReadyChild, startRedis, type BenchContext } from '../systems';
import type { FaultSystem, KillKind } from './faults';
import { postAccepted } from './load';
import type { Child } from './procs';

const root = path.resolve(__dirname, '..', '..');

export async function startBullmqFaultSystem(ctx: BenchContext, label: string, aof: boolean): Promise<FaultSystem> {
  const name = aof ? 'bullmq-aof' : 'bullmq';
  const dir = path.join(ctx.workDir, `${label}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const mailbox = path.join(dir, 'mailbox');
  const sink = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: mailbox });
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let worker: Child | undefined;
  let api: Child | undefined;
  let queue: Queue | undefined;
  const stop = async () => {
    await queue?.close().catch(() => undefined);
    for (const child of [api, worker]) await child?.stop().catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    await sink.close().catch(() => undefined);
  };
  try {
    redis = await startRedis(ctx, `${label}-${name}`, { aof });
    const redisPort = redis.port;
    const apiPort = await freePort();
    const env: NodeJS.ProcessEnv = { CONVEYOR_DATA_DIR: dir, MAIL_CATCHER_PORT: String(sink.port), LOG_LEVEL: 'warn', BENCH_WORKER_MODE: 'bullmq', BENCH_REDIS_PORT: String(redisPort) };
    const start: Record<KillKind, () => Promise<void>> = {
      worker: async () => void (worker = (await startReadyChild(path.join(root, 'bench/worker-proc.ts'), env, path.join(dir, 'worker.log'))).child),
      api: async () => void (api = (await startReadyChild(path.join(root, 'bench/bullmq-api.ts'), { ...env, PORT: String(apiPort) }, path.join(dir, 'api.log'))).child),
      server: async () => void (redis = await startRedis(ctx, `${label}-${name}`, { aof, port: redisPort })),
    };
    const current = (kind: KillKind): Child => ({ worker, api, server: redis?.child })[kind]!;
    await Promise.all([start.worker(), start.api()]);
    const url = `http://127.0.0.1:${apiPort}/v1/welcome-emails`;
    return {
      name,
      durability: aof ? 'Redis appendonly yes, appendfsync everysec' : 'Redis in memory (no persistence)',
      enqueue: (id, signal) => postAccepted(url, { userId: id, email: `${id}@bench.example`, name: 'Bench' }, signal),
      deliveries: () => readDeliveries(mailbox).map((d) => ({ jobId: /^welcome-email:(.+)\/welcome$/.exec(d.key)?.[1], messageId: d.messageId })),
      pid: (kind) => current(kind).pid,
      async kill(kind) {
        const child = current(kind);
        await child.kill();
        return child.process.signalCode;
      },
      restart: (kind) => start[kind](),
      async unfinished() {
        // Made on first use, after the kills: its connection never sees a dead server.
        queue ??= new Queue('welcome-emails', { connection: { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: 1 } });
        const counts = await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'waiting-children');
        return Object.values(counts).reduce((a, b) => a + b, 0);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
