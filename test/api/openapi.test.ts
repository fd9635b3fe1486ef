/**
 * The OpenAPI document and the app agree both ways: every route the app serves (routeTable) is in
 * the document, and every operation in the document is served. The document is served at
 * /openapi.json and the docs page at /docs, with its assets from this app (offline).
 */
import { createApp } from '../../api/app';
import { routeTable } from '../../api/hygiene';
import { toOpenApiPath } from '../../api/openapi';
import { json, testLogger } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment({ mail: true });
});
afterAll(() => d?.stop());

test('every route the app serves is in the document, and every documented operation is served', async () => {
  const app = createApp({ config: d.config, client: d.client, db: d.db, logger: testLogger, mailboxDir: d.mailboxDir });
  const served = new Set(routeTable(app).map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
  const res = await fetch(`${d.url}/openapi.json`);
  expect(res.status).toBe(200);
  const doc = await json(res);
  expect(doc.openapi).toBe('3.1.0');
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
  );
  expect([...served].filter((r) => !documented.has(r))).toEqual([]);
  expect([...documented].filter((r) => !served.has(r))).toEqual([]);
  expect(served.size).toBeGreaterThan(40);
});

test('each operation documents its path parameters, problem answers, X-Correlation-Id, and the headers its route uses', async () => {
  const doc = await json(await fetch(`${d.url}/openapi.json`));
  const text = JSON.stringify(doc);
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of Object.entries(ops)) {
      const pathParams = op.parameters.filter((p: { in?: string }) => p.in === 'path').map((p: { name: string }) => p.name).sort();
      expect([method, path, pathParams]).toEqual([method, path, inPath]);
      expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/X-Correlation-Id' });
      expect(op.responses.default).toEqual({ $ref: '#/components/responses/Problem' });
      if (['post', 'put', 'delete'].includes(method) && !path.startsWith('/codecs/')) expect(op.parameters).toContainEqual({ $ref: '#/components/parameters/Idempotency-Key' });
    }
  }
  // Every $ref resolves.
  for (const [, refPath] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
    expect(refPath!.split('/').reduce((node: any, key) => node?.[key], doc)).toBeDefined();
  }
  // Submits: the body from the job's own schema, the start options, 202 + Location, 503 + Retry-After.
  const submit = doc.paths['/v1/orders'].post;
  expect(submit.requestBody.content['application/json'].schema.required).toEqual(['customerId', 'items', 'paymentAccountId']);
  expect(submit.parameters.map((p: { name?: string }) => p.name).filter(Boolean)).toEqual(['delay', 'runAt', 'priority', 'fairnessKey']);
  expect(submit.responses['202'].headers.Location).toBeDefined();
  expect(doc.components.responses.Unavailable.headers['Retry-After']).toBeDefined();
  expect(submit.responses['422'].content?.['application/problem+json'] ?? doc.components.responses.Problem.content['application/problem+json']).toBeDefined();
  const list = doc.paths['/v1/jobs'].get;
  expect(list.parameters.find((p: { name?: string }) => p.name === 'pageSize').schema).toMatchObject({ minimum: 1, maximum: 100 });
  expect(list.parameters.find((p: { name?: string }) => p.name === 'type').schema.enum).toContain('webhook-delivery');
});

test('the docs page is served with its assets from this app (no CDN)', async () => {
  const page = await fetch(`${d.url}/docs`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  expect(assets.every((a) => a.startsWith('/'))).toBe(true);
  for (const asset of assets) expect([asset, (await fetch(`${d.url}${asset}`)).status]).toEqual([asset, 200]);
  expect((await fetch(`${d.url}/docs/assets/nope.js`)).status).toBe(404);
});
