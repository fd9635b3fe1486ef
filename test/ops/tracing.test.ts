/**
 * One welcome-email job traced end to end: the API's HTTP span, the workflow start, the workflow
 * run and its activities, all one trace, exported over OTLP/HTTP to an in-process receiver (a
 * plain HTTP server that takes the OTLP JSON the exporter posts; neither Jaeger nor the Collector
 * was built for this test). API, client and worker run in this process, as in `npm start`; the
 * context crosses Temporal only through workflow and activity headers. The leaves are the SMTP
 * sends and the database queries.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startTracing, tracingPlugins, type Tracing } from '../../platform/tracing';
import { workflowBundleOptions } from '../../worker/worker';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { json, postJson, tempDir, uniqueTag, waitFor } from '../support/env';
import { openAccount, stockSku, untilBooked } from '../support/shop';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

jest.setTimeout(90_000);
let receiver: http.Server;
let tracing: Tracing;
let d: TestDeployment;
const spans: ReceivedSpan[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const payload = JSON.parse(body) as { resourceSpans: any[] };
        for (const rs of payload.resourceSpans) {
          const service = rs.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue;
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) {
              const attributes = Object.fromEntries(s.attributes.map((a: any) => [a.key, Object.values(a.value)[0]]));
              spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, attributes, service });
            }
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  tracing = startTracing(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}`, 'conveyor-test')!;

  // A prebuilt bundle must carry the plugin's workflow interceptors (the worker cannot add them).
  const { code } = await bundleWorkflowCode({ ...workflowBundleOptions(), plugins: tracingPlugins(), logger: new DefaultLogger('WARN') });
  const bundleFile = path.join(tempDir('traced-bundle'), 'bundle.js');
  fs.writeFileSync(bundleFile, code);
  d = await startTestDeployment({ mail: true, worker: true, env: { WORKFLOW_BUNDLE_PATH: bundleFile, WELCOME_FOLLOW_UP_DELAY: '1s' } });
});

afterAll(async () => {
  await d?.stop();
  await tracing?.shutdown();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** The spans of `root`'s trace once `ready` holds, and each span's ancestors' names (nearest first). */
async function traceOf(root: ReceivedSpan, ready: (inTrace: ReceivedSpan[]) => boolean) {
  const inTrace = await waitFor(`the rest of ${root.name}'s trace`, async () => {
    await tracing.flush();
    const found = spans.filter((s) => s.traceId === root.traceId);
    return ready(found) ? found : undefined;
  });
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  const ancestry = (span: ReceivedSpan) => {
    const names: string[] = [];
    for (let p = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) names.push(p.name);
    return names;
  };
  return { inTrace, ancestry };
}

const httpSpan = (name: string, correlationId: string) =>
  waitFor(`the span '${name}'`, async () => {
    await tracing.flush();
    return spans.find((s) => s.name === name && s.attributes['conveyor.correlation_id'] === correlationId);
  });

test('one trace from the HTTP request through the workflow to its activities', async () => {
  const userId = uniqueTag('traced');
  const correlationId = `corr-${userId}`;
  const res = await postJson(`${d.url}/v1/welcome-emails`, { userId, email: `${userId}@example.com`, name: 'Tess' }, { 'X-Correlation-Id': correlationId });
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  await waitFor('the job to complete', async () => ((await json(await fetch(`${d.url}${statusUrl}`))).status === 'COMPLETED' ? true : undefined));

  const http = await httpSpan('POST /v1/welcome-emails', correlationId);
  expect(http.parentSpanId).toBeUndefined(); // the root
  expect(http.attributes).toMatchObject({ 'http.route': '/v1/welcome-emails', 'http.response.status_code': 202 });

  const { inTrace: trace, ancestry } = await traceOf(http, (found) => found.filter((s) => s.name === 'RunActivity:sendEmail').length === 2);
  const start = trace.find((s) => s.name === 'StartWorkflow:welcomeEmail')!;
  expect(start.parentSpanId).toBe(http.spanId);
  const run = trace.find((s) => s.name === 'RunWorkflow:welcomeEmail')!;
  expect(ancestry(run)).toEqual(['StartWorkflow:welcomeEmail', 'POST /v1/welcome-emails']);
  for (const activity of trace.filter((s) => s.name === 'RunActivity:sendEmail')) {
    expect(ancestry(activity)).toEqual(['StartActivity:sendEmail', 'RunWorkflow:welcomeEmail', 'StartWorkflow:welcomeEmail', 'POST /v1/welcome-emails']);
    // Its leaves: the idempotency check, the SMTP send and the record of it.
    const leaves = trace.filter((s) => s.parentSpanId === activity.spanId).map((s) => s.name);
    expect(leaves).toEqual(expect.arrayContaining(['db SELECT', 'smtp send', 'db INSERT']));
  }
  expect(trace.filter((s) => s.name === 'smtp send').every((s) => !JSON.stringify(s.attributes).includes('@'))).toBe(true);
});

test('an order: API → order workflow → its activities → the shipment child → its activities, one trace', async () => {
  const sku = await stockSku(d.db);
  const accountId = await openAccount(d.db);
  const orderId = uniqueTag('traced-o');
  const correlationId = `corr-${orderId}`;
  const res = await postJson(`${d.url}/v1/orders`, { orderId, customerId: 'c-9', items: [{ sku, quantity: 1 }], paymentAccountId: accountId }, { 'X-Correlation-Id': correlationId });
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  await untilBooked(d.db, orderId);
  for (const type of ['picked_up', 'delivered']) expect((await postJson(`${d.url}/v1/shipments/${orderId}/events`, { type })).status).toBe(202);
  await waitFor('the order to close', async () => ((await json(await fetch(`${d.url}${statusUrl}`))).workflowStatus === 'COMPLETED' ? true : undefined));

  const root = await httpSpan('POST /v1/orders', correlationId);
  expect(root.parentSpanId).toBeUndefined();
  const api = 'POST /v1/orders';
  const { inTrace, ancestry } = await traceOf(root, (found) =>
    found.some((s) => s.name === 'RunActivity:bookCarrier') && found.some((s) => s.name === 'RunActivity:sendEmail'),
  );
  const names = (prefix: string) => inTrace.filter((s) => s.name.startsWith(prefix));

  const orderRun = names('RunWorkflow:order')[0]!;
  expect(ancestry(orderRun)).toEqual(['StartWorkflow:order', api]);
  // The order's own activities (reserve, charge, save, confirmation email) hang off its run.
  const orderActivities = names('RunActivity:').filter((s) => ancestry(s).includes('RunWorkflow:order') && !ancestry(s).includes('RunWorkflow:shipment'));
  expect(orderActivities.map((s) => s.name)).toEqual(expect.arrayContaining(['RunActivity:reserveInventory', 'RunActivity:chargePayment', 'RunActivity:sendEmail']));
  for (const activity of orderActivities) expect(ancestry(activity).slice(1)).toEqual(['RunWorkflow:order', 'StartWorkflow:order', api]);

  // The shipment child, started by the order, and its activity.
  const shipmentRun = names('RunWorkflow:shipment')[0]!;
  expect(ancestry(shipmentRun)).toEqual(['StartChildWorkflow:shipment', 'RunWorkflow:order', 'StartWorkflow:order', api]);
  const booking = names('RunActivity:bookCarrier')[0]!;
  expect(ancestry(booking)).toEqual(['StartActivity:bookCarrier', 'RunWorkflow:shipment', 'StartChildWorkflow:shipment', 'RunWorkflow:order', 'StartWorkflow:order', api]);
});
