/**
 * The restock job over HTTP on the real dev server, worker and database (SQLite and PostgreSQL):
 * the job type that was added through the registry alone (workflows/restock/), so its routes,
 * its activities on the worker and its status view come from its declaration.
 */
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { databaseEnv, testDatabases } from '../support/databases';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { stockOf, stockSku } from '../support/shop';

describe.each(testDatabases())('%s', (_name, target) => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment({ env: databaseEnv(await target()), worker: true });
  });
  afterAll(() => d?.stop());

  const job = async (statusUrl: string) => json(await fetch(`${d.url}${statusUrl}`));

  test('202 + Location; a delivery (sent twice) raises the stock once; a late delivery is 409', async () => {
    const sku = await stockSku(d.db, { stock: 2 });
    const key = uniqueTag('key');
    const res = await postJson(`${d.url}/v1/inventory/${sku}/restocks`, { quantity: 40, supplier: 'acme' }, { 'Idempotency-Key': key });
    expect(res.status).toBe(202);
    const accepted = await json(res);
    expect(accepted.jobId).toMatch(/^restock:r-[0-9a-f]{20}$/);
    expect(res.headers.get('location')).toBe(accepted.statusUrl);

    // The same key maps to the same restock: no second purchase order.
    const again = await postJson(`${d.url}/v1/inventory/${sku}/restocks`, { quantity: 40, supplier: 'acme' }, { 'Idempotency-Key': key });
    expect((await json(again)).jobId).toBe(accepted.jobId);

    const restockId = accepted.jobId.slice('restock:'.length);
    await waitFor('the purchase order', async () => ((await job(accepted.statusUrl)).step?.startsWith('waiting') ? true : undefined));
    for (let i = 0; i < 2; i++) expect((await postJson(`${d.url}/v1/restocks/${restockId}/deliveries`, { quantity: 38 })).status).toBe(202);

    const done = await waitFor('the restock to complete', async () => {
      const view = await job(accepted.statusUrl);
      return view.status === 'COMPLETED' ? view : undefined;
    });
    expect(done.result).toMatchObject({ outcome: 'received', received: 38, stock: 40 });
    expect(await stockOf(d.db, sku)).toBe(40);

    const late = await postJson(`${d.url}/v1/restocks/${restockId}/deliveries`, { quantity: 1 });
    expect(late.status).toBe(409);
    expect(await json(late)).toMatchObject({ type: 'urn:conveyor:problem:restock-closed' });
  });

  test('bad input names the field and starts nothing; an unknown restock is 404', async () => {
    const sku = await stockSku(d.db);
    const bad = await postJson(`${d.url}/v1/inventory/${sku}/restocks`, { quantity: 0, supplier: 'acme', extra: 1 });
    expect(bad.status).toBe(422);
    expect((await json(bad)).errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/extra', '/quantity']);
    const badPath = await postJson(`${d.url}/v1/inventory/${encodeURIComponent('a b')}/restocks`, { quantity: 1, supplier: 'acme' });
    expect(badPath.status).toBe(400);
    const unknown = await postJson(`${d.url}/v1/restocks/${uniqueTag('nope')}/deliveries`, { quantity: 1 });
    expect(unknown.status).toBe(404);
  });
});
