/**
 * Input hygiene, tried as a hostile client would: bodies nested thousands deep, bodies that are not
 * JSON, control characters and broken Unicode in free text, unknown methods, malformed HTTP. Each
 * gets a 4xx problem+json that names what is wrong, and nothing is started or stored.
 */
import net from 'node:net';
import fc from 'fast-check';
import { createApp } from '../../api/app';
import { MAX_BODY_DEPTH, routeTable } from '../../api/hygiene';
import { startApiServer } from '../../api/server';
import { freePort } from '../../platform/ports';
import { text } from '../../platform/schemas';
import { json, postJson, testLogger, uniqueTag } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment();
});
afterAll(() => d?.stop());

/** Every route of the app, from its own router: a new route cannot be missed. */
const routes = () => routeTable(createApp({ config: d.config, client: d.client, db: d.db, logger: testLogger }));
const concrete = (path: string) => path.replace(/:(\w+)/g, (_m, name: string) => (name === 'stream' ? 'users' : uniqueTag(name)));
const workflowCount = async () => (await d.client.workflowService.countWorkflowExecutions({ namespace: d.config.temporal.namespace, query: `TaskQueue = "${d.config.temporal.taskQueue}"` })).count;

test(`a body nested ${4_000} levels deep, with an Idempotency-Key, is a 400 on every mutating route (never a 500), and starts nothing`, async () => {
  const deep = `${'['.repeat(4_000)}${']'.repeat(4_000)}`;
  const mutating = routes().filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
  expect(mutating.length).toBeGreaterThanOrEqual(9);
  for (const route of mutating) {
    // The test key holds every scope (the codec server's included), so every body is read (and refused).
    const res = await fetch(`${d.url}${concrete(route.path)}`, { method: route.method, headers: { 'content-type': 'application/json', 'Idempotency-Key': uniqueTag('k') }, body: deep });
    expect([route.path, res.status]).toEqual([route.path, 400]);
    expect(await json(res)).toMatchObject({ type: 'urn:conveyor:problem:body-too-deep' });
  }
  const atTheLimit = JSON.stringify(JSON.parse(`${'['.repeat(MAX_BODY_DEPTH)}${']'.repeat(MAX_BODY_DEPTH)}`));
  expect((await postJson(`${d.url}/v1/welcome-emails`, atTheLimit)).status).toBe(422); // parsed, walked, refused by its schema
  expect(Number(await workflowCount())).toBe(0);
});

test('a route that reads a body takes only JSON: the cancel of an order refuses text, forms and XML with 415', async () => {
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
    const res = await fetch(`${d.url}/v1/orders/o-1/cancel`, { method: 'POST', headers: { 'content-type': contentType }, body: 'reason=because' });
    expect([contentType, res.status]).toEqual([contentType, 415]);
  }
  // No body at all is fine (every field has a default): here the order does not exist.
  expect((await fetch(`${d.url}/v1/orders/${uniqueTag('o')}/cancel`, { method: 'POST' })).status).toBe(404);
});

test('free text: the same rule on every field (property-based over arbitrary strings)', () => {
  const schema = text(100);
  // eslint-disable-next-line no-control-regex -- the rule under test
  const forbidden = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffd]|\p{Cs}/u;
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
      const parsed = schema.safeParse(s);
      const trimmed = s.trim();
      const acceptable = trimmed.length >= 1 && trimmed.length <= 100 && !forbidden.test(trimmed);
      expect(parsed.success).toBe(acceptable);
      if (parsed.success) expect(parsed.data).toBe(trimmed.normalize('NFC'));
    }),
    { numRuns: 2_000 },
  );
});

test.each([
  ['a CR/LF that would start its own paragraph in the mail', 'Ada\r\n\r\nClick here'],
  ['a NUL', 'Ada\u0000'],
  ['a C1 control', 'Ada\u0085'],
  ['a bidi override', 'Ada\u202Egnp.exe'],
  ['a lone surrogate', 'Ada\uD800'],
  ['U+FFFD (invalid UTF-8 arrives as it)', 'Ada\uFFFD'],
])('%s in a name or a reason is a 422 naming the field, on every route that takes it', async (_what, bad) => {
  const user = { userId: uniqueTag('u'), email: 'ada@example.com', name: bad };
  for (const path of ['/v1/welcome-emails', '/v1/users']) {
    const res = await postJson(`${d.url}${path}`, user);
    expect([path, res.status]).toEqual([path, 422]);
    expect((await json(res)).errors).toEqual([expect.objectContaining({ pointer: '/name' })]);
  }
  const cancel = await postJson(`${d.url}/v1/orders/${uniqueTag('o')}/cancel`, { reason: bad });
  expect(cancel.status).toBe(422);
  expect((await json(cancel)).errors).toEqual([expect.objectContaining({ pointer: '/reason' })]);
  expect(await d.db.selectFrom('users').select('user_id').where('user_id', '=', user.userId).executeTakeFirst()).toBeUndefined();
});

test('invalid UTF-8 bytes in a body are refused like U+FFFD', async () => {
  const body = Buffer.concat([Buffer.from('{"userId":"u-bytes","email":"ada@example.com","name":"Ada'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const res = await fetch(`${d.url}/v1/welcome-emails`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(422);
  expect((await json(res)).errors).toEqual([expect.objectContaining({ pointer: '/name' })]);
});

test('an unknown method on a known path is a 405 with Allow; an unknown path a 404', async () => {
  const get = await fetch(`${d.url}/v1/welcome-emails`);
  expect(get.status).toBe(405);
  expect(get.headers.get('allow')).toBe('POST');
  expect(get.headers.get('content-type')).toMatch('application/problem+json');
  const del = await fetch(`${d.url}/v1/orders/o-1`, { method: 'DELETE' });
  expect(del.status).toBe(405);
  expect(del.headers.get('allow')).toBe('GET, HEAD');
  expect((await fetch(`${d.url}/v1/nothing-here`)).status).toBe(404);
});

test("Node's own 400 for a malformed header carries a problem+json body", async () => {
  const port = await freePort();
  const api = await startApiServer({ config: { ...d.config, host: '127.0.0.1', port }, client: d.client, db: d.db, logger: testLogger });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/Content-Type: application\/problem\+json/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, type: 'urn:conveyor:problem:malformed-request' });
  } finally {
    await api.close();
  }
});
