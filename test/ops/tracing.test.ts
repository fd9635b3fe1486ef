/**
 * One welcome-email job and one order traced end to end: the API's HTTP span, the workflow start,
 * the workflow run and its activities, the shipment child and its activity, all one trace. API,
 * client and worker run in this process, as in `npm start`; the context crosses Temporal only
 * through workflow and activity headers. The leaves are the SMTP sends and the database queries.
 *
 * Where the spans go, and where the assertions read them:
 *  - Jaeger v2 when CONVEYOR_TEST_OTLP_ENDPOINT and CONVEYOR_TEST_JAEGER_URL are set (.ci/jaeger.sh
 *    builds and starts it; .ci/run does): spans are exported to its OTLP/HTTP receiver, the root is
 *    found through its query API by operation and correlation-ID tag (/api/traces), and the trace
 *    is read back by ID (/api/v3/traces/<id>, OTLP JSON);
 *  - otherwise an in-process OTLP/HTTP receiver (test/support/otlp-receiver.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startTracing, tracingPlugins, type Tracing } from '../../platform/tracing';
import { workflowBundleOptions } from '../../worker/worker';
import { freePort } from '../../platform/ports';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { json, postJson, tempDir, uniqueTag, waitFor } from '../support/env';
import { spansOfOtlpJson, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver';
import { openAccount, stockSku, untilBooked } from '../support/shop';

const SERVICE = 'conveyor-test';

/** Where the assertions read spans from: a root span by name and correlation ID, and a whole trace. */
interface SpanSource {
  name: string;
  endpoint: string;
  root(name: string, correlationId: string): Promise<ReceivedSpan | undefined>;
  trace(traceId: string): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function jaeger(otlpEndpoint: string, queryUrl: string): SpanSource {
  const get = async (url: string) => {
    const res = await fetch(url);
    if (res.status === 404) return undefined; // api_v3: no such trace (yet)
    if (!res.ok) throw new Error(`Jaeger ${url}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  return {
    name: `Jaeger (${queryUrl})`,
    endpoint: otlpEndpoint,
    async root(name, correlationId) {
      // The search Jaeger's UI makes: service, operation and a tag.
      const query = new URLSearchParams({ service: SERVICE, operation: name, tags: JSON.stringify({ 'conveyor.correlation_id': correlationId }), limit: '5' });
      const found = await get(`${queryUrl}/api/traces?${query}`);
      const traceId: string | undefined = found?.data?.[0]?.traceID;
      if (!traceId) return undefined;
      return (await this.trace(traceId)).find((s) => s.name === name && s.attributes['conveyor.correlation_id'] === correlationId);
    },
    async trace(traceId) {
      const found = await get(`${queryUrl}/api/v3/traces/${traceId}`);
      return found ? spansOfOtlpJson(found.result) : [];
    },
    close: async () => undefined,
  };
}

function inProcess(receiver: OtlpReceiver): SpanSource {
  return {
    name: 'an in-process OTLP receiver',
    endpoint: receiver.endpoint,
    root: async (name, correlationId) => receiver.spans.find((s) => s.name === name && s.attributes['conveyor.correlation_id'] === correlationId),
    trace: async (traceId) => receiver.spans.filter((s) => s.traceId === traceId),
    close: receiver.close,
  };
}

jest.setTimeout(90_000);
let source: SpanSource;
let tracing: Tracing;
let d: TestDeployment;
let bundleDir: string | undefined;

beforeAll(async () => {
  const { CONVEYOR_TEST_OTLP_ENDPOINT: otlp, CONVEYOR_TEST_JAEGER_URL: query } = process.env;
  source = otlp && query ? jaeger(otlp, query) : inProcess(await startOtlpReceiver());
  console.info(`test/ops/tracing.test.ts: spans go to ${source.name}`);
  tracing = startTracing(source.endpoint, SERVICE)!;

  // A prebuilt bundle must carry the plugin's workflow interceptors (the worker cannot add them).
  const { code } = await bundleWorkflowCode({ ...workflowBundleOptions(), plugins: tracingPlugins(), logger: new DefaultLogger('WARN') });
  bundleDir = tempDir('traced-bundle');
  const bundleFile = path.join(bundleDir, 'bundle.js');
  fs.writeFileSync(bundleFile, code);
  d = await startTestDeployment({ mail: true, worker: true, env: { WORKFLOW_BUNDLE_PATH: bundleFile, WELCOME_FOLLOW_UP_DELAY: '1s' } });
});

afterAll(async () => {
  await d?.stop();
  await tracing?.shutdown();
  await source?.close();
  if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
});

/** The spans of `root`'s trace once `ready` holds, and each span's ancestors' names (nearest first). */
async function traceOf(root: ReceivedSpan, ready: (inTrace: ReceivedSpan[]) => boolean) {
  const inTrace = await waitFor(`the rest of ${root.name}'s trace in ${source.name}`, async () => {
    await tracing.flush();
    const found = await source.trace(root.traceId);
    return ready(found) ? found : undefined;
  });
  // One trace: whatever the backend returned for this ID carries this ID.
  expect(new Set(inTrace.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  const ancestry = (span: ReceivedSpan) => {
    const names: string[] = [];
    for (let p = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) names.push(p.name);
    return names;
  };
  return { inTrace, ancestry };
}

const httpSpan = (name: string, correlationId: string) =>
  waitFor(`the span '${name}' with correlation ID ${correlationId} in ${source.name}`, async () => {
    await tracing.flush();
    return source.root(name, correlationId);
  });

test('one trace from the HTTP request through the workflow to its activities', async () => {
  const userId = uniqueTag('traced');
  const correlationId = `corr-${userId}`;
  const email = `${userId}@example.com`;
  const res = await postJson(`${d.url}/v1/welcome-emails`, { userId, email, name: 'Tess' }, { 'X-Correlation-Id': correlationId });
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  await waitFor('the job to complete', async () => ((await json(await fetch(`${d.url}${statusUrl}`))).status === 'COMPLETED' ? true : undefined));

  const http = await httpSpan('POST /v1/welcome-emails', correlationId);
  expect(http.parentSpanId).toBeUndefined(); // the root
  expect(http.attributes).toMatchObject({ 'http.route': '/v1/welcome-emails', 'http.response.status_code': 202 });

  // Workflow spans leave the worker through sinks, later than the activities' own: wait for both.
  const { inTrace: trace, ancestry } = await traceOf(
    http,
    (found) => found.some((s) => s.name === 'RunWorkflow:welcomeEmail') && found.filter((s) => s.name === 'RunActivity:sendEmail').length === 2,
  );
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
  // No recipient in the spans (the address is PII). Not "no '@'": Jaeger adds its own
  // '@jaeger@warnings' attribute (clock-skew notes) when a loaded machine delays spans.
  const smtpAttributes = trace.filter((s) => s.name === 'smtp send').map((s) => JSON.stringify(s.attributes));
  expect(smtpAttributes.length).toBeGreaterThanOrEqual(2);
  for (const attributes of smtpAttributes) expect(attributes).not.toContain(email);
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
  expect(root.attributes).toMatchObject({ 'conveyor.correlation_id': correlationId, 'http.route': '/v1/orders', 'http.response.status_code': 202 });
  expect(root.service).toBe(SERVICE);
  const api = 'POST /v1/orders';
  const { inTrace, ancestry } = await traceOf(root, (found) =>
    ['RunWorkflow:order', 'RunWorkflow:shipment', 'RunActivity:bookCarrier', 'RunActivity:recordShipped', 'RunActivity:sendEmail'].every((name) => found.some((s) => s.name === name)),
  );
  const names = (prefix: string) => inTrace.filter((s) => s.name.startsWith(prefix));

  const orderRun = names('RunWorkflow:order')[0]!;
  expect(ancestry(orderRun)).toEqual(['StartWorkflow:order', api]);
  // The order's own activities (reserve, charge, save, confirmation email) hang off its run.
  const orderActivities = names('RunActivity:').filter((s) => ancestry(s).includes('RunWorkflow:order') && !ancestry(s).includes('RunWorkflow:shipment'));
  expect(orderActivities.map((s) => s.name)).toEqual(expect.arrayContaining(['RunActivity:reserveInventory', 'RunActivity:chargePayment', 'RunActivity:sendEmail']));
  for (const activity of orderActivities) expect(ancestry(activity).slice(1)).toEqual(['RunWorkflow:order', 'StartWorkflow:order', api]);

  // The shipment child, started by the order, and its activities: the booking, and once the
  // carrier's pick-up signal arrived, the OrderShipped record.
  const shipmentRun = names('RunWorkflow:shipment')[0]!;
  expect(ancestry(shipmentRun)).toEqual(['StartChildWorkflow:shipment', 'RunWorkflow:order', 'StartWorkflow:order', api]);
  for (const name of ['bookCarrier', 'recordShipped']) {
    const activity = names(`RunActivity:${name}`)[0]!;
    expect(ancestry(activity)).toEqual([`StartActivity:${name}`, 'RunWorkflow:shipment', 'StartChildWorkflow:shipment', 'RunWorkflow:order', 'StartWorkflow:order', api]);
    // Its leaves: the database work of the exactly-once step.
    expect(inTrace.filter((s) => s.parentSpanId === activity.spanId).map((s) => s.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^db /)]));
  }
});

test('a receiver that is down costs no request: the API role still answers 202, and says spans are being dropped', async () => {
  // A loopback port nobody listens on: every export is refused.
  const api = await d.spawn('api', { PORT: String(await freePort()), OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
  const url = /"url":"(http:\/\/[^"]+)"/.exec(api.output())![1]!;
  for (let i = 0; i < 3; i++) {
    const userId = uniqueTag('untraced');
    expect((await postJson(`${url}/v1/welcome-emails`, { userId, email: `${userId}@example.com`, name: 'Una' })).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // past the batch processor's 1 s export delay
  }
  expect(api.child.exitCode).toBeNull();
  // Said once (the later failures within the minute are counted, not logged), as a warning.
  const warnings = api.output().split('\n').filter((line) => line.includes('"msg":"tracing: '));
  expect(warnings).toHaveLength(1);
  expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, msg: expect.stringMatching(/^tracing: spans not exported: connect ECONNREFUSED 127\.0\.0\.1:\d+$/) });
});
