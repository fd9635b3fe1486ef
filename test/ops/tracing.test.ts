/**
 * One welcome-email job traced end to end: the API's HTTP span, the workflow start, the workflow
 * run and its activities, all one trace, exported over OTLP/HTTP to an in-process receiver (a
 * plain HTTP server that takes the OTLP JSON the exporter posts; neither Jaeger nor the Collector
 * was built for this test). API, client and worker run in this process, as in `npm start`; the
 * context crosses Temporal only through workflow and activity headers.
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

test('one trace from the HTTP request through the workflow to its activities', async () => {
  const userId = uniqueTag('traced');
  const correlationId = `corr-${userId}`;
  const res = await postJson(`${d.url}/v1/welcome-emails`, { userId, email: `${userId}@example.com`, name: 'Tess' }, { 'X-Correlation-Id': correlationId });
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  await waitFor('the job to complete', async () => ((await json(await fetch(`${d.url}${statusUrl}`))).status === 'COMPLETED' ? true : undefined));

  const http = await waitFor('the HTTP span', async () => {
    await tracing.flush();
    return spans.find((s) => s.name === 'POST /v1/welcome-emails' && s.attributes['conveyor.correlation_id'] === correlationId);
  });
  expect(http.parentSpanId).toBeUndefined(); // the root
  expect(http.attributes).toMatchObject({ 'http.route': '/v1/welcome-emails', 'http.response.status_code': 202 });

  const trace = await waitFor('both email activities in the trace', async () => {
    await tracing.flush();
    const inTrace = spans.filter((s) => s.traceId === http.traceId);
    return inTrace.filter((s) => s.name === 'RunActivity:sendEmail').length === 2 ? inTrace : undefined;
  });
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  /** A span's ancestors' names, nearest first. */
  const ancestry = (span: ReceivedSpan) => {
    const names: string[] = [];
    for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) names.push(p.name);
    return names;
  };

  const start = trace.find((s) => s.name === 'StartWorkflow:welcomeEmail')!;
  expect(start.parentSpanId).toBe(http.spanId);
  const run = trace.find((s) => s.name === 'RunWorkflow:welcomeEmail')!;
  expect(ancestry(run)).toEqual(['StartWorkflow:welcomeEmail', 'POST /v1/welcome-emails']);
  for (const activity of trace.filter((s) => s.name === 'RunActivity:sendEmail')) {
    expect(ancestry(activity)).toEqual(['StartActivity:sendEmail', 'RunWorkflow:welcomeEmail', 'StartWorkflow:welcomeEmail', 'POST /v1/welcome-emails']);
  }
  // No other trace holds this job's spans: one request, one trace.
  expect(spans.filter((s) => s.name === 'RunWorkflow:welcomeEmail' && s.attributes.workflowId === run.attributes.workflowId && s.traceId !== http.traceId)).toEqual([]);
});
