/**
 * docs/operations/jaeger-order-trace.png: one order placed through a real `npm start` that exports
 * its spans to Jaeger, then that order's trace opened in Jaeger's UI in headless chromium.
 * Run it through trace-screenshot.sh, which builds the UI and starts Jaeger with it; Jaeger's
 * addresses come in as .ci/jaeger.sh exports them.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { freePort } from '../../platform/ports';

const root = path.resolve(__dirname, '..', '..');
const screenshot = path.join(__dirname, 'jaeger-order-trace.png');
const otlpEndpoint = required('CONVEYOR_TEST_OTLP_ENDPOINT');
const jaeger = required('CONVEYOR_TEST_JAEGER_URL');
const orderId = 'o-123';
const correlationId = `order-${orderId}`;
/** The order's whole tree, as docs/operations.md draws it: wait until Jaeger has all of it. */
const expectedSpans = ['POST /v1/orders', 'RunWorkflow:order', 'RunActivity:chargePayment', 'RunWorkflow:shipment', 'RunActivity:recordShipped', 'RunActivity:sendEmail'];

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run docs/operations/trace-screenshot.sh`);
  return value;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function main() {
  // npm start on free ports with a fresh data dir, so it runs beside anything else on the machine.
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-trace-'));
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    CONVEYOR_DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_SERVER_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    MAIL_CATCHER_PORT: String(await freePort()),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  };
  const conveyor = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  conveyor.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => conveyor.once('exit', resolve));
  try {
    await waitFor('npm start', async () => (output.includes('Conveyor is running.') ? true : undefined), 120_000);
    const api = `http://127.0.0.1:${port}`;
    const headers = {
      Authorization: `Bearer ${fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim()}`,
      'Content-Type': 'application/json',
      'X-Correlation-Id': correlationId,
    };
    const post = async (url: string, body: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(`${api}${url}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      if (res.status !== 202) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
    };
    // README's order, then the carrier's events, so the shipment child runs to its end.
    const items = [{ sku: 'widget', quantity: 2 }, { sku: 'gadget', quantity: 1 }];
    await post('/v1/orders', { orderId, customerId: 'c-9', paymentAccountId: 'acct-demo', items }, { 'Idempotency-Key': '7d1f0c2e-order-1' });
    // The shipment takes carrier events once it has booked the carrier: until then, try again
    // (waitFor treats a refused POST as "not yet").
    for (const type of ['picked_up', 'delivered']) {
      await waitFor(`the carrier's ${type}`, () => post(`/v1/shipments/${orderId}/events`, { type }).then(() => true));
    }
    await waitFor('the order to complete', async () => {
      const order = (await (await fetch(`${api}/v1/orders/${orderId}`, { headers })).json()) as { workflowStatus: string };
      return order.workflowStatus === 'COMPLETED' ? true : undefined;
    });
  } finally {
    conveyor.kill('SIGTERM'); // a stop exports the spans still buffered
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  // Find the trace the way Jaeger's search page does: service, operation, the correlation ID tag.
  const search = new URL('/api/traces', jaeger);
  search.search = new URLSearchParams({ service: 'conveyor', operation: 'POST /v1/orders', tags: JSON.stringify({ 'conveyor.correlation_id': correlationId }) }).toString();
  const traceId = await waitFor('the whole trace in Jaeger', async () => {
    const found = (await (await fetch(search)).json()) as { data: Array<{ traceID: string; spans: Array<{ operationName: string }> }> };
    const trace = found.data[0];
    const names = new Set(trace?.spans.map((span) => span.operationName));
    return trace && expectedSpans.every((name) => names.has(name)) ? trace.traceID : undefined;
  });

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(new URL(`/trace/${traceId}`, jaeger).toString());
    await page.getByText('RunActivity:recordShipped').first().waitFor({ timeout: 30_000 });
    // Collapse each activity's database spans so the whole tree fits on one screen; sendEmail
    // stays open to show an activity's own spans (database and SMTP). One click at a time: a
    // click re-renders the rows.
    const expandedActivity = page
      .locator('.span-name-wrapper')
      .filter({ has: page.locator('.endpoint-name', { hasText: /^RunActivity:(?!sendEmail)/ }) })
      .filter({ has: page.locator('.span-svc-name:not(.is-children-collapsed)') });
    while ((await expandedActivity.count()) > 0) await expandedActivity.first().locator('.SpanTreeOffset.is-parent').click();
    // Widen the name column (a quarter of the width by default) so no operation name is cut off.
    const divider = await page.locator('.VerticalResizer--dragger').first().boundingBox();
    if (divider) {
      await page.mouse.move(divider.x + divider.width / 2, divider.y + divider.height / 2);
      await page.mouse.down();
      await page.mouse.move(560, divider.y + divider.height / 2, { steps: 5 });
      await page.mouse.up();
    }
    await page.mouse.move(0, 0); // no hover highlight in the picture
    await page.screenshot({ path: screenshot });
  } finally {
    await browser.close();
  }
  console.log(`trace ${traceId}: ${path.relative(root, screenshot)} (open it live: ${jaeger}/trace/${traceId})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
