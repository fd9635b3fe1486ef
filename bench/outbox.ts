/**
 * Outbox relay: throughput (rows/s published) and commit-to-workflow-start latency, for polling
 * on SQLite, polling on PostgreSQL and LISTEN/NOTIFY on PostgreSQL, in one run.
 *
 *   BENCH_DATABASE_URL=postgres://user:pass@127.0.0.1:5432/db npm run bench:outbox [-- --quick]
 *
 * The role in BENCH_DATABASE_URL must be allowed to create databases (each variant gets a fresh
 * one). Without it only the SQLite variant runs. No worker runs: the measurement ends at the
 * workflow start, which is what the relay does.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { installTemporalRuntime } from '../worker/worker';
import pg from 'pg';
import { openDatabase, type DatabaseTarget } from '../db/database';
import { appendToOutbox } from '../db/outbox';
import { loadConfig } from '../platform/config';
import { startDevServer } from '../platform/dev-server';
import { createLogger } from '../platform/logger';
import { freePort } from '../platform/ports';
import { createTemporalClient } from '../platform/temporal';
import { ensureTemporalBinaries, requireBinary, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { createOutboxRelay } from '../worker/outbox-relay';

const quick = process.argv.includes('--quick');
const THROUGHPUT_ROWS = quick ? 200 : 2_000;
const LATENCY_ROWS = quick ? 40 : 300;
const LATENCY_RATE_PER_S = 20;
const POLL_INTERVAL = '500ms';

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function freshPostgres(url: string, name: string): Promise<DatabaseTarget> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return { kind: 'postgres', url: fresh.toString() };
}

async function runVariant(label: string, address: string, database: DatabaseTarget, listen: boolean) {
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `bench-outbox-${label}`,
    CONVEYOR_DATA_DIR: database.kind === 'sqlite' ? path.dirname(database.file) : os.tmpdir(),
    OUTBOX_POLL_INTERVAL: POLL_INTERVAL,
    OUTBOX_LISTEN: String(listen),
    LOG_LEVEL: 'silent',
    ...(database.kind === 'postgres' ? { DATABASE_URL: database.url } : {}),
  };
  const config = loadConfig(env);
  const db = await openDatabase(config.database);
  const client = createTemporalClient(config.temporal);
  const relay = createOutboxRelay({ config, db, client, logger: createLogger('silent', 'bench') });
  const append = (userId: string) =>
    db.transaction().execute((trx) =>
      appendToOutbox(trx, { aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: `${userId}@example.com`, name: 'Bench' }, correlationId: label }),
    );
  const waitDrained = async () => {
    while ((await db.selectFrom('outbox').select('seq').where('published_at', 'is', null).limit(1).execute()).length > 0) await sleep(20);
  };

  // Throughput: a backlog of rows, drained as fast as the relay can.
  for (let i = 0; i < THROUGHPUT_ROWS; i++) await append(`${label}-t${i}`);
  const started = performance.now();
  relay.start();
  await waitDrained();
  const rowsPerSecond = THROUGHPUT_ROWS / ((performance.now() - started) / 1000);

  // Latency: rows committed one by one at a steady rate; commit time to the workflow's start time.
  const committedAt = new Map<string, number>();
  for (let i = 0; i < LATENCY_ROWS; i++) {
    const userId = `${label}-l${i}`;
    await append(userId);
    committedAt.set(`welcome-email:${userId}`, Date.now());
    await sleep(1000 / LATENCY_RATE_PER_S);
  }
  await waitDrained();
  await relay.stop();
  const latencies: number[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue = "${config.temporal.taskQueue}" AND WorkflowId STARTS_WITH "welcome-email:${label}-l"` })) {
    latencies.push(wf.startTime.getTime() - committedAt.get(wf.workflowId)!);
  }
  latencies.sort((a, b) => a - b);
  await client.connection.close();
  await db.destroy();
  return { variant: label, rowsPerSecond, latencyRows: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function main() {
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI]);
  const devServer = await startDevServer({ executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort() });
  try {
    const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-outbox-'));
    const results = [await runVariant('sqlite-polling', devServer.address, { kind: 'sqlite', file: path.join(sqliteDir, 'conveyor.sqlite') }, false)];
    const url = process.env.BENCH_DATABASE_URL;
    if (url) {
      results.push(await runVariant('postgres-polling', devServer.address, await freshPostgres(url, 'conveyor_bench_polling'), false));
      results.push(await runVariant('postgres-listen', devServer.address, await freshPostgres(url, 'conveyor_bench_listen'), true));
    } else {
      console.warn('BENCH_DATABASE_URL is unset: PostgreSQL variants skipped');
    }
    const summary = { pollInterval: POLL_INTERVAL, throughputRows: THROUGHPUT_ROWS, latencyRatePerSecond: LATENCY_RATE_PER_S, machine: `${os.cpus().length} cores, node ${process.version}`, results };
    console.log(JSON.stringify(summary, null, 2));
    for (const r of results) console.log(`${r.variant.padEnd(18)} ${r.rowsPerSecond.toFixed(0).padStart(6)} rows/s   commit→start p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms`);
    const out = path.resolve(__dirname, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `outbox${quick ? '-quick' : ''}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await devServer.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
