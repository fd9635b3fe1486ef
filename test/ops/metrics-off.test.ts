/**
 * METRICS=off: the API counts nothing and serves no /metrics (404), and process metrics are not
 * collected; the default deployment beside it, in the same process, does all three (the control
 * that shows the assertions can fail). METRICS=off with METRICS_PORT is refused at start-up.
 */
import { loadConfig } from '../../platform/config';
import { httpRequests, registry } from '../../platform/metrics';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

jest.setTimeout(60_000);
const requestsCounted = async () => (await httpRequests.get()).values.reduce((n, v) => n + v.value, 0);
const processMetricsCollected = async () => (await registry.getMetricsAsJSON()).some((m) => m.name.startsWith('conveyor_process_'));

let off: TestDeployment;
afterAll(async () => {
  await off?.stop();
});

test('METRICS=off: no request counting, no /metrics, no process metrics', async () => {
  off = await startTestDeployment({ env: { METRICS: 'off' } });
  for (const path of ['/healthz', '/healthz', '/v1/no-such-route']) await fetch(`${off.url}${path}`);
  const res = await fetch(`${off.url}/metrics`);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await requestsCounted()).toBe(0);
  expect(await processMetricsCollected()).toBe(false);
});

test('the default (METRICS=on) in the same process counts and serves them', async () => {
  const on = await startTestDeployment();
  try {
    await fetch(`${on.url}/healthz`);
    const res = await fetch(`${on.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^conveyor_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1$/m);
    expect(await processMetricsCollected()).toBe(true);
  } finally {
    await on.stop();
  }
});

test('METRICS=off with METRICS_PORT is refused, naming both', () => {
  expect(() => loadConfig({ METRICS: 'off', METRICS_PORT: '9464' })).toThrow(/METRICS=off and METRICS_PORT/);
  expect(() => loadConfig({ METRICS: 'no' })).toThrow(/METRICS=/);
});
