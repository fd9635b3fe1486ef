/**
 * What integration tests share: the dev server and workflow bundle from global setup, a config
 * built the way production builds it, and small waiting helpers.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, type Client } from '@temporalio/client';
import type { WorkflowBundlePath } from '@temporalio/worker';
import { createApp, type AppDeps } from '../../api/app';
import { hashKey } from '../../db/api-keys';
import type { Database } from '../../db/database';
import { DEFAULT_TENANT, SCOPES } from '../../platform/tenancy';
import { generateCodecKey } from '../../platform/codec';
import type { Config } from '../../platform/config';
import { createLogger } from '../../platform/logger';
import { createTemporalClient } from '../../platform/temporal';
import { createWorker, installTemporalRuntime } from '../../worker/worker';

/** Keep the test output to warnings; a Runtime can be installed once per process. */
export function quietTemporalRuntime(): void {
  try {
    installTemporalRuntime();
  } catch {
    // already installed by an earlier test file in this jest worker
  }
}

export const testLogger = createLogger('silent', 'test');

export function workflowBundle(): WorkflowBundlePath {
  const codePath = process.env.CONVEYOR_TEST_WORKFLOW_BUNDLE;
  if (!codePath) throw new Error('CONVEYOR_TEST_WORKFLOW_BUNDLE is unset: run the tests through jest (global setup)');
  return { codePath };
}

/** A short unique tag, so test files sharing one dev server never see each other's workflows. */
export const uniqueTag = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `conveyor-${prefix}-`));
}

/** One payload key per test file (its clients and workers must share it): tests run encrypted, as production does. */
const testCodecKeys = generateCodecKey(uniqueTag('test'));

/** Tests send many requests with one key; the rate-limit tests set their own limits. */
export const TEST_RATE_LIMITS = { RATE_LIMIT_RPS: '100000', RATE_LIMIT_SUBMIT_RPS: '100000', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_RPS: '100000' };

/** The environment a test deployment runs with: the shared dev server, a fresh data dir and task queue. */
export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  const address = process.env.CONVEYOR_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('CONVEYOR_TEST_TEMPORAL_ADDRESS is unset: run the tests through jest (global setup)');
  return {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: uniqueTag('tq'),
    CONVEYOR_DATA_DIR: tempDir('data'),
    WORKFLOW_BUNDLE_PATH: workflowBundle().codePath,
    LOG_LEVEL: 'silent',
    ...TEST_RATE_LIMITS,
    CONVEYOR_CODEC_KEYS: testCodecKeys,
    ...env,
  };
}

/**
 * The API key every test deployment's database holds: the default tenant (the tenant of the rows
 * tests insert directly), every scope. A fixed key, so a spawned API process on any port accepts it.
 */
export const TEST_API_KEY = 'cvk_7e5700000000a11d_TestKeyOnlyForLoopbackTestsTestKeyOnlyForLo';

export async function insertTestApiKey(db: Database): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ key_id: '7e5700000000a11d', tenant_id: DEFAULT_TENANT, key_hash: hashKey(TEST_API_KEY), scopes: SCOPES.join(' '), name: 'test key', created_at: new Date().toISOString(), revoked_at: null })
    .onConflict((oc) => oc.column('key_id').doUpdateSet({ scopes: SCOPES.join(' ') })) // a database kept from before a scope was added
    .execute();
}

/**
 * Every request a test sends to a loopback API carries TEST_API_KEY (or the key registered for that
 * origin: a main job's own development key) unless it sets its own Authorization header (an empty
 * one sends none that counts: the request is unauthenticated). One wrapper here rather than a
 * header at each of the tests' fetch calls.
 */
const loopbackKeys = new Map<string, string>();
export const useApiKeyFor = (origin: string, key: string) => void loopbackKeys.set(origin, key);
const loopbackFetch = globalThis.fetch;
globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : input);
  if (url.hostname !== '127.0.0.1') return loopbackFetch(input, init);
  const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
  if (!headers.has('authorization')) headers.set('authorization', `Bearer ${loopbackKeys.get(url.origin) ?? TEST_API_KEY}`);
  return loopbackFetch(input, { ...init, headers });
};

/** Production's client (with its interceptors) on an eagerly opened connection. */
export async function connectClient(config: Config): Promise<Client> {
  return createTemporalClient(config.temporal, await Connection.connect({ address: config.temporal.address }));
}

/** The real Express app on an ephemeral loopback port. */
export async function startTestApi(deps: Omit<AppDeps, 'logger'>): Promise<{ url: string; close(): Promise<void> }> {
  await insertTestApiKey(deps.db);
  const app = createApp({ ...deps, logger: testLogger });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Poll until `check` returns a value that is not undefined, or fail with `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(100);
  }
}

/**
 * A wait that proves something did NOT happen (a second reaction, a job run without a worker):
 * there is no condition to await, only time in which the wrong outcome could show up. Keep it
 * short and bounded, and say at the call site what it leaves room for. Everything else awaits a
 * condition with waitFor.
 */
export const quietPeriod = (ms: number): Promise<void> => sleep(ms);

/** A response body as JSON, untyped: tests assert on its shape. */
export const json = (res: Response): Promise<any> => res.json();

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A real Conveyor worker (production's createWorker; testEnv() points it at the test bundle); stop() drains it. */
export async function startTestWorker(deps: Parameters<typeof createWorker>[0]) {
  const worker = await createWorker(deps);
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  return {
    /** Idempotent: a test may stop a worker early that its deployment stops again at the end. */
    stop() {
      stopped ??= (async () => {
        worker.worker.shutdown();
        await running;
        await worker.close();
      })();
      return stopped;
    },
  };
}
