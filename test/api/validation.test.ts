/**
 * Bad input never reaches Temporal: every case gets problem+json naming what is wrong, and the
 * real dev server shows that no workflow was started. No worker runs here: none is needed.
 */
import { freePort } from '../../platform/ports';
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

let d: TestDeployment;

beforeAll(async () => {
  d = await startTestDeployment();
});

afterAll(() => d?.stop());

const valid = () => ({ userId: uniqueTag('u'), email: 'ada@example.com', name: 'Ada' });

interface BadCase {
  name: string;
  body: string;
  headers?: Record<string, string>;
  status: number;
  /** JSON pointer (or header name) the problem must name. */
  names?: string;
}

const badCases: BadCase[] = [
  { name: 'malformed JSON', body: '{"userId": "u-1", ', status: 400 },
  { name: 'JSON with a trailing comma', body: '{"userId":"u-1","email":"a@b.co","name":"A",}', status: 400 },
  { name: 'wrong Content-Type', body: JSON.stringify(valid()), headers: { 'content-type': 'text/plain' }, status: 415 },
  { name: 'form-encoded body', body: 'userId=u-1&email=a%40b.co&name=A', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
  { name: 'missing email', body: JSON.stringify({ userId: 'u-1', name: 'Ada' }), status: 422, names: '/email' },
  { name: 'missing everything', body: '{}', status: 422, names: '/userId' },
  { name: 'extra field', body: JSON.stringify({ ...valid(), isAdmin: true }), status: 422, names: '/isAdmin' },
  { name: 'name of the wrong type', body: JSON.stringify({ ...valid(), name: 42 }), status: 422, names: '/name' },
  { name: 'blank name', body: JSON.stringify({ ...valid(), name: '   ' }), status: 422, names: '/name' },
  { name: 'invalid email', body: JSON.stringify({ ...valid(), email: 'ada-at-example' }), status: 422, names: '/email' },
  { name: 'userId with a colon', body: JSON.stringify({ ...valid(), userId: 'a:b' }), status: 422, names: '/userId' },
  { name: 'userId with a slash', body: JSON.stringify({ ...valid(), userId: '../x' }), status: 422, names: '/userId' },
  { name: 'userId too long', body: JSON.stringify({ ...valid(), userId: 'u'.repeat(65) }), status: 422, names: '/userId' },
  { name: 'an array body', body: JSON.stringify([valid()]), status: 422 },
  { name: 'a JSON string body', body: '"hello"', status: 400 },
  { name: 'a body over the size limit', body: JSON.stringify({ ...valid(), name: 'x'.repeat(20_000) }), status: 413 },
  { name: 'an invalid X-Correlation-Id', body: JSON.stringify(valid()), headers: { 'x-correlation-id': 'has spaces and ü' }, status: 400, names: 'X-Correlation-Id' },
];

test.each(badCases)('$name → $status problem+json', async ({ body, headers, status, names }) => {
  const res = await postJson(`${d.url}/v1/welcome-emails`, body, headers);
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = await json(res);
  expect(problem).toMatchObject({ status, instance: '/v1/welcome-emails' });
  expect(problem.type).toMatch(/^urn:conveyor:problem:/);
  expect(problem.title).toEqual(expect.any(String));
  if (names) {
    expect(problem.errors.map((e: { pointer: string }) => e.pointer)).toContain(names);
    expect(problem.detail).toContain(names);
  }
});

test('none of the bad requests started a workflow (checked on the server)', async () => {
  // A good request on the same task queue is the control: once the server lists it,
  // it would list the others too.
  const res = await postJson(`${d.url}/v1/welcome-emails`, valid());
  expect(res.status).toBe(202);
  const onQueue = `TaskQueue = "${d.config.temporal.taskQueue}"`;
  await waitFor('the control workflow to be listed', async () => ((await d.client.workflow.count(onQueue)).count >= 1 ? true : undefined));
  expect((await d.client.workflow.count(onQueue)).count).toBe(1);
});

test('unknown jobs and routes are 404 problem+json', async () => {
  const job = await fetch(`${d.url}/v1/jobs/welcome-email:${uniqueTag('nobody')}`);
  expect(job.status).toBe(404);
  expect(await json(job)).toMatchObject({ type: 'urn:conveyor:problem:job-not-found', status: 404 });

  const unsubscribe = await fetch(`${d.url}/v1/welcome-emails/${uniqueTag('nobody')}/unsubscribe`, { method: 'POST' });
  expect(unsubscribe.status).toBe(404);

  const route = await fetch(`${d.url}/v1/nothing-here`);
  expect(route.status).toBe(404);
  expect(route.headers.get('content-type')).toMatch(/^application\/problem\+json/);
});

test('an invalid userId in the unsubscribe path is a 400 naming it', async () => {
  const res = await fetch(`${d.url}/v1/welcome-emails/${encodeURIComponent('a b')}/unsubscribe`, { method: 'POST' });
  expect(res.status).toBe(400);
  expect((await json(res)).errors[0].pointer).toBe('userId');
});

test('the correlation ID is echoed, or created when absent', async () => {
  const given = await fetch(`${d.url}/healthz`, { headers: { 'x-correlation-id': 'trace-123' } });
  expect(given.headers.get('x-correlation-id')).toBe('trace-123');
  const created = await fetch(`${d.url}/healthz`);
  expect(created.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
});

describe('with Temporal unreachable', () => {
  let down: TestDeployment;

  beforeAll(async () => {
    // A port nothing listens on: the client must not connect at start (lazyClient), as in production.
    down = await startTestDeployment({ env: { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, TEMPORAL_RPC_TIMEOUT: '1s' }, lazyClient: true });
  });

  afterAll(() => down?.stop());

  test('POST answers 503 problem+json with Retry-After instead of hanging', async () => {
    const res = await postJson(`${down.url}/v1/welcome-emails`, valid());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await json(res)).toMatchObject({ type: 'urn:conveyor:problem:temporal-unavailable', status: 503 });
  });

  test('GET of a job answers 503 too', async () => {
    const res = await fetch(`${down.url}/v1/jobs/welcome-email:u-1`);
    expect(res.status).toBe(503);
  });

  test('/healthz says the process is up; /readyz says Temporal is not reachable', async () => {
    expect((await fetch(`${down.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${down.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await json(ready)).toEqual({ status: 'not ready', checks: { temporal: 'unreachable', database: 'ok' } });
  });

  test('/readyz is 200 when both are reachable', async () => {
    const ready = await fetch(`${d.url}/readyz`);
    expect(await json(ready)).toEqual({ status: 'ready', checks: { temporal: 'ok', database: 'ok' } });
  });
});
