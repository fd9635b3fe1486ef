/**
 * Deposits per second end to end (POST → workflow completed) on the embedded dev server, in one
 * run, for three variants:
 *   exactly-once  Conveyor's deposit: its two database writes as local activities;
 *   dispatched    the same activities dispatched as activity tasks (the deposit before it used
 *                 local activities, bench/workflows/deposit-dispatched.ts): what local saves;
 *   plain         like exactly-once without the operation-key transaction: what exactly-once costs.
 *
 *   npm run bench:deposits [-- --quick]        SQLite (default)
 *   BENCH_DATABASE_URL=postgres://… npm run bench:deposits
 *
 * "plain" replaces applyDeposit by the same balance update and ledger insert without the
 * operations row (a random entry ID): what a non-idempotent consumer would do. It is here only to
 * be measured; it would double money under a retry.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import { createActivities, type Activities } from '../activities';
import type { DepositInput } from '../activities/accounts';
import { createApp } from '../api/app';
import { createApiKey } from '../db/api-keys';
import { openDatabase, type Database } from '../db/database';
import { DEFAULT_TENANT } from '../platform/tenancy';
import { postEntry } from '../db/ledger';
import { loadConfig } from '../platform/config';
import { startDevServer } from '../platform/dev-server';
import { freePort } from '../platform/ports';
import { createLogger } from '../platform/logger';
import { createTemporalClient } from '../platform/temporal';
import { ensureTemporalBinaries, requireBinary, TEMPORAL_CLI } from '../platform/temporal-binaries';
import { createWorker, workflowBundleOptions, installTemporalRuntime } from '../worker/worker';
import { bundleToFile } from './systems';

const quick = process.argv.includes('--quick');
const DEPOSITS = quick ? 60 : 600;
const CONCURRENCY = 16;
const ACCOUNTS = 20;

function plainDeposit(db: Database): Activities['applyDeposit'] {
  return async (input: DepositInput) => {
    const posted = await db.transaction().execute((trx) =>
      postEntry(trx, { entryId: randomUUID(), accountId: input.accountId, amount: input.amount, currency: input.currency }, { openAccount: true }),
    );
    const balance = posted!.balance;
    return { entryId: 'n/a', balance, appliedNow: true, attempt: 1 };
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

type Variant = 'exactly-once' | 'dispatched' | 'plain';

async function runVariant(variant: Variant, base: Record<string, string>, bundles: Record<'conveyor' | 'dispatched', string>) {
  const config = loadConfig({ ...base, RATE_LIMIT_RPS: '10000000', RATE_LIMIT_SUBMIT_RPS: '10000000', WORKFLOW_BUNDLE_PATH: variant === 'dispatched' ? bundles.dispatched : bundles.conveyor, TEMPORAL_TASK_QUEUE: `bench-${variant}-${randomUUID().slice(0, 6)}`, CONVEYOR_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-')) });
  const db = await openDatabase(config.database);
  const mailer = nodemailer.createTransport({ jsonTransport: true }); // deposits send no mail
  const real = createActivities({ db, mailer, from: config.mail.from });
  const worker = await createWorker({ config, db, activities: variant === 'plain' ? { ...real, applyDeposit: plainDeposit(db) } : real });
  const running = worker.run();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = createTemporalClient(config.temporal, connection);
  const app = createApp({ config, client, db, logger: createLogger('silent', 'bench') });
  const { key: apiKey } = await createApiKey(db, { tenantId: DEFAULT_TENANT, scopes: ['jobs:submit'], name: 'bench' });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const one = async (i: number) => {
    const started = performance.now();
    const res = await fetch(`${url}/v1/accounts/bench-${variant}-${i % ACCOUNTS}/deposits`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID(), authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ amount: 100, currency: 'EUR' }),
    });
    if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
    const { jobId } = (await res.json()) as { jobId: string };
    await client.workflow.getHandle(jobId).result();
    return performance.now() - started;
  };
  const drive = async (count: number) => {
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < count) latencies.push(await one(next++));
      }),
    );
    return { seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
  };

  await drive(CONCURRENCY * 2); // warm-up: caches, connections, JIT
  const { seconds, latencies } = await drive(DEPOSITS);
  const ledger = await db.selectFrom('ledger_entries').select(db.fn.countAll().as('n')).executeTakeFirstOrThrow();

  server.close();
  worker.worker.shutdown();
  await running;
  await worker.close();
  await connection.close();
  await db.destroy();
  return {
    variant,
    deposits: DEPOSITS,
    perSecond: DEPOSITS / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ledgerEntries: Number(ledger.n),
  };
}

async function main() {
  installTemporalRuntime();
  ensureTemporalBinaries([TEMPORAL_CLI]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-bench-'));
  const bundles = {
    conveyor: await bundleToFile(workflowBundleOptions(), path.join(dir, 'workflows.js')),
    dispatched: await bundleToFile({ workflowsPath: require.resolve('./workflows/deposit-dispatched') }, path.join(dir, 'deposit-dispatched.js')),
  };
  const devServer = await startDevServer({ executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort() });
  try {
    const base: Record<string, string> = { TEMPORAL_ADDRESS: devServer.address, LOG_LEVEL: 'silent' };
    if (process.env.BENCH_DATABASE_URL) base.DATABASE_URL = process.env.BENCH_DATABASE_URL;
    const database = base.DATABASE_URL ? 'PostgreSQL' : 'SQLite';
    // Alternate the variants so drift (warm caches, a busy neighbour) does not favour one.
    const results: Array<Awaited<ReturnType<typeof runVariant>>> = [];
    const variants: Variant[] = ['exactly-once', 'dispatched', 'plain'];
    for (const variant of [...variants, ...variants]) results.push(await runVariant(variant, base, bundles));
    const best = (v: Variant) => results.filter((r) => r.variant === v).sort((a, b) => b.perSecond - a.perSecond)[0]!;
    const [once, dispatched, plain] = [best('exactly-once'), best('dispatched'), best('plain')];
    const summary = {
      database,
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
      concurrency: CONCURRENCY,
      runs: results,
      ratio: once.perSecond / plain.perSecond,
      localOverDispatched: once.perSecond / dispatched.perSecond,
    };
    console.log(JSON.stringify(summary, null, 2));
    console.log(
      `\n${database}: exactly-once ${once.perSecond.toFixed(1)}/s (p50 ${once.p50Ms.toFixed(0)} ms, p99 ${once.p99Ms.toFixed(0)} ms), ` +
        `plain ${plain.perSecond.toFixed(1)}/s (p50 ${plain.p50Ms.toFixed(0)} ms, p99 ${plain.p99Ms.toFixed(0)} ms): ` +
        `exactly-once runs at ${(summary.ratio * 100).toFixed(0)}% of plain; ` +
        `dispatched activities ${dispatched.perSecond.toFixed(1)}/s (p50 ${dispatched.p50Ms.toFixed(0)} ms): local activities give ${summary.localOverDispatched.toFixed(2)}×`,
    );
    const out = path.resolve(__dirname, 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `deposits-${database.toLowerCase()}${quick ? '-quick' : ''}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await devServer.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
