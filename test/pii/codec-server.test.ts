/**
 * The codec server over HTTP, as the Web UI calls it: an API key with the `codec` scope, CORS for
 * the Web UI's origin only, the namespace header, and decode/encode round trips of real history payloads.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { createApiKey } from '../../db/api-keys';
import { SCOPES } from '../../platform/tenancy';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { json, postJson, waitFor } from '../support/env';
import { uniquePerson } from '../support/pii';

const uiOrigin = 'http://127.0.0.1:18233';
let deployment: TestDeployment;
/** An operator's key: the `codec` scope and nothing else. */
let token = '';

beforeAll(async () => {
  deployment = await startTestDeployment({ mail: true, worker: true, env: { TEMPORAL_UI_URL: `${uiOrigin}/` } });
  token = (await createApiKey(deployment.db, { tenantId: 'operators', scopes: ['codec'], name: 'Web UI' })).key;
});
afterAll(() => deployment?.stop());

const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(`${deployment.url}/codecs/${path}`, body, { Authorization: `Bearer ${token}`, 'X-Namespace': deployment.config.temporal.namespace, ...headers });

test('decodes the encrypted input of a real welcome job for the Web UI, and encodes back', async () => {
  const person = uniquePerson();
  const { jobId } = await json(await postJson(`${deployment.url}/v1/welcome-emails`, person));
  const history = await waitFor('the first activity', async () => {
    const h = await deployment.client.workflow.getHandle(jobId).fetchHistory();
    return h.events!.some((e) => e.activityTaskScheduledEventAttributes) ? h : undefined;
  });
  // The history's payloads in the JSON form the Web UI posts.
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads!;
  const asJson = input.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  }));
  expect(JSON.stringify(asJson)).not.toContain(Buffer.from(person.email).toString('base64').slice(0, 12));

  const res = await call('decode', { payloads: asJson }, { Origin: uiOrigin });
  expect(res.status).toBe(200);
  expect(res.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const decoded = (await json(res)).payloads;
  const clear = defaultPayloadConverter.fromPayload({
    metadata: Object.fromEntries(Object.entries(decoded[0].metadata as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(decoded[0].data, 'base64'),
  });
  expect(clear).toMatchObject({ email: person.email, name: person.name });

  const reencoded = (await json(await call('encode', { payloads: decoded }))).payloads;
  expect(Buffer.from(reencoded[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
  expect((await json(await call('decode', { payloads: reencoded }))).payloads).toEqual(decoded);
});

test('no key, a wrong key, a key without the codec scope, another namespace: refused', async () => {
  const body = { payloads: [] };
  const none = await postJson(`${deployment.url}/codecs/decode`, body, { authorization: '' });
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(none.headers.get('content-type')).toMatch(/application\/problem\+json/);
  expect((await call('decode', body, { Authorization: `Bearer ${token.slice(0, -1)}x` })).status).toBe(401);
  expect((await call('decode', body, { Authorization: token })).status).toBe(401);
  // Every other scope, admin included: decoding reads every tenant's payloads, so it is its own scope.
  const { key: everyOther } = await createApiKey(deployment.db, { tenantId: 'operators', scopes: SCOPES.filter((s) => s !== 'codec'), name: 'no codec' });
  const forbidden = await call('decode', body, { Authorization: `Bearer ${everyOther}` });
  expect(forbidden.status).toBe(403);
  expect(await json(forbidden)).toMatchObject({ type: 'urn:conveyor:problem:forbidden', detail: expect.stringContaining("'codec'") });
  expect((await call('decode', body, { 'X-Namespace': 'someone-else' })).status).toBe(403);
  expect((await call('decode', { payloads: [{ data: 'not base64!' }] })).status).toBe(422);
  expect((await call('decode', 'payloads', { 'Content-Type': 'text/plain' })).status).toBe(415);
});

test('CORS: only the Web UI origin may call it from a browser', async () => {
  const preflight = (origin: string) =>
    fetch(`${deployment.url}/codecs/decode`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-namespace' },
    });
  const ok = await preflight(uiOrigin);
  expect(ok.status).toBe(204);
  expect(ok.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
  expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);

  const evil = await preflight('http://evil.example');
  expect(evil.status).toBe(403);
  expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  // The Web UI can read why a call without credentials failed: the 401 carries the CORS headers.
  const anonymous = await postJson(`${deployment.url}/codecs/decode`, { payloads: [] }, { authorization: '', Origin: uiOrigin });
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  // Even with the token, a page on another origin gets nothing decoded.
  const cross = await call('decode', { payloads: [] }, { Origin: 'http://127.0.0.1:18234' });
  expect(cross.status).toBe(403);
  expect(cross.headers.get('access-control-allow-origin')).toBeNull();
});
