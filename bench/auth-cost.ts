/**
 * `npm run bench:auth`: what the key check adds to each request, in API CPU. Runs the API's own
 * middleware (authentication, then the per-key rate limit) on a real app database, without HTTP
 * (which costs the same with or without auth), and reports CPU time per request:
 *   key check, cached     the usual case: the key was verified within the last KEY_CACHE_MS
 *   key check, uncached   a database lookup and hash comparison on every request
 *   + per-key limit       the rate limiter too (memory on SQLite; on PostgreSQL a round trip to its shared store)
 * against a request through a no-op middleware. Seconds, not minutes; SQLite by default,
 * BENCH_DATABASE_URL for PostgreSQL (whose rate-limit store then costs a round trip per request).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
import { authenticate } from '../api/auth';
import { createRateLimits } from '../api/rate-limits';
import { createApiKey } from '../db/api-keys';
import { openDatabase } from '../db/database';
import { loadConfig } from '../platform/config';
import { DEFAULT_TENANT, SCOPES } from '../platform/tenancy';

const N = Number(process.env.BENCH_AUTH_REQUESTS ?? 20_000);

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-auth-bench-'));
  const config = loadConfig({
    CONVEYOR_DATA_DIR: dataDir,
    RATE_LIMIT_RPS: '100000000',
    RATE_LIMIT_SUBMIT_RPS: '100000000',
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
  });
  const db = await openDatabase(config.database);
  const { key } = await createApiKey(db, { tenantId: DEFAULT_TENANT, scopes: [...SCOPES], name: 'bench' });
  const limits = createRateLimits(config);
  const auth = authenticate({ db, config, limits });

  const req = { path: '/v1/inventory', socket: { remoteAddress: '127.0.0.1' }, get: (name: string) => (name === 'Authorization' ? `Bearer ${key}` : undefined) } as unknown as Request;
  const res = { locals: {}, set: () => res } as unknown as Response;
  const run = (handler: RequestHandler) => new Promise<void>((resolve, reject) => void Promise.resolve(handler(req, res, (err?: unknown) => (err ? reject(err) : resolve()))).catch(reject));
  // As Express chains them: the limiter runs inside authenticate's next(), where the principal is set.
  const chain: RequestHandler = (rq, rs, next) => auth(rq, rs, (err?: unknown) => (err ? next(err) : limits.perKey(rq, rs, next)));
  const withAuth = () => run(chain);
  const noop: RequestHandler = (_req, _res, next) => next();

  async function cpuPerRequest(label: string, one: () => Promise<void>) {
    for (let i = 0; i < 500; i++) await one(); // warm up (JIT, cache, statements)
    const start = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < N; i++) await one();
    const cpu = process.cpuUsage(start);
    const us = (cpu.user + cpu.system) / N;
    console.log(`${label.padEnd(34)} ${(us / 1000).toFixed(4)} ms CPU/request   (${((performance.now() - wall) / N).toFixed(4)} ms wall)`);
    return us;
  }

  console.log(`${N} requests, ${config.database.kind}`);
  const base = await cpuPerRequest('no auth (a no-op middleware)', () => run(noop));
  const keyCached = await cpuPerRequest('key check, cached', () => run(auth));
  // Uncached: a new key each time would fill the cache; instead expire it by moving the clock.
  const realNow = Date.now;
  let shift = 0;
  Date.now = () => realNow() + (shift += 2_000);
  const keyUncached = await cpuPerRequest('key check, uncached', () => run(auth));
  Date.now = realNow;
  const withLimit = await cpuPerRequest('key check (cached) + per-key limit', withAuth);
  const ms = (us: number) => `${(us / 1000).toFixed(4)} ms`;
  console.log(`added per request: key check ${ms(keyCached - base)} cached, ${ms(keyUncached - base)} uncached; with the rate limit ${ms(withLimit - base)} (target < 0.3 ms)`);
  await limits.close();
  await db.destroy();
}

void main();
