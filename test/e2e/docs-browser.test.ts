/**
 * The docs page in a real browser (Debian's chromium, headless, driven by playwright-core): it
 * renders from this app's own assets alone (every request the page makes goes to the app; no
 * CDN) and shows the job routes.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

/** Debian's chromium (.ci/run installs it); CHROMIUM_PATH overrides. */
function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const executablePath = chromiumPath();
if (!executablePath && process.env.CI) throw new Error('chromium is not installed: .ci/run must install it');
const browserTest = executablePath ? test : test.skip;

let d: TestDeployment;
let browser: Browser | undefined;
beforeAll(async () => {
  d = await startTestDeployment();
});
afterAll(async () => {
  await browser?.close();
  await d?.stop();
});

browserTest('the docs page shows the job routes, loading nothing from outside the app', async () => {
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`${d.url}/docs`);
  for (const path of ['/v1/jobs', '/v1/jobs/{jobId}/retry', '/v1/jobs/{jobId}/cancel', '/v1/jobs/retries', '/v1/schedules', '/v1/webhook-endpoints']) {
    await page.getByText(path, { exact: true }).first().waitFor({ timeout: 20_000 });
  }
  expect(await page.getByText('Conveyor', { exact: false }).first().isVisible()).toBe(true);
  expect(requested.length).toBeGreaterThan(2);
  expect(requested.filter((url) => !url.startsWith(d.url) && !url.startsWith('data:'))).toEqual([]);
}, 60_000);
