/**
 * A fresh cluster has neither Conveyor's namespace nor its search attributes (the dev server
 * registers them itself; a real cluster does not). Here a dev server started without them stands
 * in for one: /readyz names what is missing and answers 503, `npm run temporal:setup` (the real
 * script, as a child process) creates both, waits until they are usable, and a second run creates
 * nothing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection, Client } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { openDatabase, type Database } from '../../db/database';
import { loadConfig } from '../../platform/config';
import { startDevServer, type DevServer } from '../../platform/dev-server';
import { freePort } from '../../platform/ports';
import { createTemporalClient } from '../../platform/temporal';
import { DEFAULT_RETENTION_MS, temporalReadiness } from '../../platform/temporal-setup';
import { requireBinary, TEMPORAL_CLI } from '../../platform/temporal-binaries';
import { json, postJson, startTestApi, tempDir, uniqueTag, waitFor } from '../support/env';

const root = path.resolve(__dirname, '..', '..');
let server: DevServer;
let db: Database;
const stops: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startDevServer({ executable: requireBinary(TEMPORAL_CLI), ip: '127.0.0.1', port: await freePort(), searchAttributes: false });
  db = await openDatabase({ kind: 'sqlite', file: path.join(tempDir('setup'), 'conveyor.sqlite') });
}, 60_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await db?.destroy();
  await server?.stop();
});

/** The real API for one namespace of the fresh server. */
async function apiFor(namespace: string) {
  const config = loadConfig({ TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: namespace, TEMPORAL_TASK_QUEUE: uniqueTag('tq'), CONVEYOR_DATA_DIR: tempDir('data') });
  const client = createTemporalClient(config.temporal);
  const api = await startTestApi({ config, client, db });
  stops.push(() => client.connection.close(), api.close);
  return api;
}

const setup = (namespace: string) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/temporal-setup.ts'], {
    cwd: root,
    env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: namespace },
  });

const attributes = ['CorrelationId', 'CustomerId', 'OrderId', 'EventType', 'TenantId'].map((name) => `search attribute ${name} (KEYWORD)`);

test('a missing namespace: /readyz is 503 naming it; temporal:setup creates it with the stated retention', async () => {
  const namespace = uniqueTag('ns');
  const api = await apiFor(namespace);
  const before = await fetch(`${api.url}/readyz`);
  expect(before.status).toBe(503);
  expect(await json(before)).toEqual({ status: 'not ready', checks: { temporal: 'not set up', database: 'ok' }, missing: [`namespace '${namespace}'`] });

  const first = await setup(namespace);
  expect(first.stdout).toContain(`created namespace '${namespace}'`);
  for (const line of attributes) expect(first.stdout).toContain(`created ${line}`);
  expect(first.stdout).toContain('is ready');

  const ready = await fetch(`${api.url}/readyz`);
  expect(await json(ready)).toEqual({ status: 'ready', checks: { temporal: 'ok', database: 'ok' } });
  const connection = await Connection.connect({ address: server.address });
  stops.push(() => connection.close());
  const { config } = await connection.workflowService.describeNamespace({ namespace });
  expect(Number(config?.workflowExecutionRetentionTtl?.seconds)).toBe(DEFAULT_RETENTION_MS / 1000);

  // Idempotent: the second run finds everything and creates nothing.
  const second = await setup(namespace);
  expect(second.stdout).toContain('nothing to create');
  expect(second.stdout).not.toContain('created');
}, 60_000);

test("an existing namespace without the attributes: /readyz names each; POSTs fail until temporal:setup, then they are accepted", async () => {
  const api = await apiFor('default');
  const before = await fetch(`${api.url}/readyz`);
  expect(before.status).toBe(503);
  expect((await json(before)).missing).toEqual(attributes);
  // What the issue saw on a fresh cluster: the start is refused for the unknown attribute.
  const refused = await postJson(`${api.url}/v1/welcome-emails`, { userId: uniqueTag('u'), email: 'ada@example.com', name: 'Ada' });
  expect(refused.status).toBeGreaterThanOrEqual(500);

  const run = await setup('default');
  expect(run.stdout).not.toContain("created namespace");
  for (const line of attributes) expect(run.stdout).toContain(`created ${line}`);

  expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
  const accepted = await postJson(`${api.url}/v1/welcome-emails`, { userId: uniqueTag('u'), email: 'ada@example.com', name: 'Ada' });
  expect(accepted.status).toBe(202);
  // The probe workflows were terminated, not left running.
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  stops.push(() => client.connection.close());
  const probes = await client.workflow.count('WorkflowType = "conveyorSetupProbe" AND ExecutionStatus = "Running"');
  expect(probes.count).toBe(0);
}, 60_000);

test('with a key that may not use the operator API, readiness asks by count queries and still names each missing attribute', async () => {
  const namespace = uniqueTag('ns');
  const connection = await Connection.connect({ address: server.address });
  stops.push(() => connection.close());
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  const client = new Client({ connection, namespace });
  // What Temporal Cloud answers a namespace-scoped key on the operator service.
  const denied = Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7, details: 'Request unauthorized.', metadata: {} });
  jest.spyOn(connection.operatorService, 'listSearchAttributes').mockRejectedValue(denied);
  await waitFor('the new namespace to be visible', async () => ((await temporalReadiness(client, namespace))[0]?.startsWith('namespace') ? undefined : true));
  expect(await temporalReadiness(client, namespace)).toEqual(attributes);
  await setup(namespace);
  expect(await temporalReadiness(client, namespace)).toEqual([]);
}, 60_000);
