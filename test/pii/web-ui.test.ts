/**
 * The codec server in a real browser: Debian's chromium (headless, driven by playwright-core)
 * opens the embedded dev server's Web UI page of a welcome-email job started through `npm start`,
 * and sees the decoded email and name with an API key holding the `codec` scope (here `npm start`'s
 * development key, which holds every scope); without a key it sees neither, and neither does
 * `temporal workflow show`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { json, postJson } from '../support/env';
import { mainJobEnv, startMainJob, type MainJob } from '../support/main-job';
import { cliWorkflowShow, mentions, uniquePerson } from '../support/pii';

const executablePath = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && fs.existsSync(p));
if (!executablePath) {
  console.warn('SKIPPED test/pii/web-ui.test.ts: no chromium (apt-get install chromium, or set CHROMIUM_PATH; .ci/chromium.sh does it in CI)');
}
const maybe = executablePath ? test : test.skip;

let job: MainJob | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  if (job) {
    job.child.kill('SIGTERM');
    await job.exited;
  }
});

maybe('the Web UI shows the decoded customer through the codec server; the CLI without the codec shows nothing of them', async () => {
  const main = await mainJobEnv({ WELCOME_FOLLOW_UP_DELAY: '1h' });
  job = await startMainJob(main.env);
  const token = fs.readFileSync(path.join(main.dataDir, 'dev-api-key'), 'utf8');
  const person = uniquePerson();
  const res = await postJson(`${main.api}/v1/welcome-emails`, person);
  expect(res.status).toBe(202);
  const { jobId, webUiUrl } = await json(res);
  expect(webUiUrl).toContain(main.uiUrl);

  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  // The operator's credentials on every request the page makes, as an authenticating proxy (or,
  // on a cluster, the Web UI's "pass access token") would add them.
  const operator = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  const page = await operator.newPage();
  const codecCalls: number[] = [];
  page.on('response', (r) => void (r.url().startsWith(`${main.api}/codecs/decode`) && codecCalls.push(r.status())));
  await page.goto(webUiUrl);
  await page.getByText(person.email).first().waitFor({ timeout: 30_000 });
  const seen = await page.locator('body').innerText();
  expect(seen).toContain(person.name);
  expect(codecCalls.length).toBeGreaterThan(0);
  expect(codecCalls.every((s) => s === 200)).toBe(true);

  // Without a key the codec server refuses, and the same page shows only ciphertext.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  const refused: number[] = [];
  strangerPage.on('response', (r) => void (r.url().startsWith(`${main.api}/codecs/decode`) && refused.push(r.status())));
  await strangerPage.goto(webUiUrl);
  await strangerPage.getByText('Workflow Execution Started').first().waitFor({ timeout: 30_000 });
  await strangerPage.waitForTimeout(2_000); // let the UI's decode attempts finish
  expect(refused.length).toBeGreaterThan(0);
  expect(refused.every((s) => s === 401)).toBe(true);
  const strangerSees = await strangerPage.locator('body').innerText();
  expect(strangerSees).not.toContain(person.email);
  expect(strangerSees).not.toContain(person.name);

  const history = await cliWorkflowShow(main.temporal, 'default', jobId);
  expect(history).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  expect(mentions(history, person.email)).toBe(false);
  expect(mentions(history, person.name)).toBe(false);

  // The README's CLI command with the codec server: the same history, decoded.
  const decoded = await cliWorkflowShow(main.temporal, 'default', jobId, ['--codec-endpoint', `${main.api}/codecs`, '--codec-auth', `Bearer ${token}`]);
  expect(decoded).toContain(Buffer.from('json/plain').toString('base64')); // decoded (the CLI's JSON keeps data in base64)
  expect(mentions(decoded, person.email)).toBe(true);
}, 180_000);
