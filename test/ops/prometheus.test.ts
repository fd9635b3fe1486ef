/**
 * Metrics end to end with a real Prometheus (Debian's `prometheus` package; .ci/prometheus.sh
 * installs it): the API, worker and relay run as the child processes `npm run api|worker|relay`
 * would start, Prometheus scrapes them every 500 ms and loads ops/prometheus/alerts.yml, and the
 * assertions go through its HTTP query API, as a dashboard or an alert would read them.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../platform/ports';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { postJson, tempDir, uniqueTag, waitFor } from '../support/env';

const RULES_FILE = path.resolve(__dirname, '..', '..', 'ops', 'prometheus', 'alerts.yml');
const hasBinary = (name: string) => spawnSync(name, ['--version'], { stdio: 'ignore' }).status === 0;
const available = hasBinary('prometheus') && hasBinary('promtool');
if (!available) {
  console.warn('\nprometheus/promtool not found: test/ops/prometheus.test.ts is skipped (apt-get install prometheus, or run .ci/run).');
}

(available ? describe : describe.skip)('Prometheus scraping the roles', () => {
  jest.setTimeout(120_000);
  let d: TestDeployment;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let apiUrl: string;
  let prometheusLog = '';

  /** An instant query's result, as Prometheus's HTTP API returns it. */
  async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result;
  }
  const scalar = async (expr: string) => {
    const [first] = await query(expr);
    return first ? Number(first.value[1]) : undefined;
  };

  beforeAll(async () => {
    d = await startTestDeployment({ mail: true, api: false });
    const [apiPort, workerPort, relayPort, promPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    await Promise.all([
      d.spawn('api', { PORT: String(apiPort) }),
      d.spawn('worker', { METRICS_PORT: String(workerPort) }),
      d.spawn('relay', { METRICS_PORT: String(relayPort), OUTBOX_POLL_INTERVAL: '100ms' }),
    ]);
    apiUrl = `http://127.0.0.1:${apiPort}`;

    const dir = tempDir('prometheus');
    const configFile = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(
      configFile,
      [
        'global: { scrape_interval: 500ms, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(RULES_FILE)}]`,
        'scrape_configs:',
        `  - { job_name: conveyor-api, static_configs: [{ targets: ['127.0.0.1:${apiPort}'] }] }`,
        `  - { job_name: conveyor-worker, static_configs: [{ targets: ['127.0.0.1:${workerPort}'] }] }`,
        `  - { job_name: conveyor-relay, static_configs: [{ targets: ['127.0.0.1:${relayPort}'] }] }`,
        '',
      ].join('\n'),
    );
    prometheusUrl = `http://127.0.0.1:${promPort}`;
    prometheus = spawn('prometheus', [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog = (prometheusLog + chunk.toString()).slice(-10_000)));
    d.onStop(() => prometheus.kill('SIGKILL'));
    await waitFor('Prometheus to be ready', async () => {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusLog}`);
      return (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.ok || undefined;
    });
  });

  afterAll(async () => {
    await d?.stop();
  });

  test('all three roles are scraped', async () => {
    const up = await waitFor('three targets up', async () => {
      const result = await query('up');
      return result.length === 3 && result.every((r) => r.value[1] === '1') ? result : undefined;
    }, 20_000);
    expect(up.map((r) => r.metric.job).sort()).toEqual(['conveyor-api', 'conveyor-relay', 'conveyor-worker']);
  });

  test('a burst of N jobs shows up as N accepted jobs; the outbox drains back to 0', async () => {
    const N = 12;
    const burst = Array.from({ length: N }, () => {
      const userId = uniqueTag('prom');
      return postJson(`${apiUrl}/v1/welcome-emails`, { userId, email: `${userId}@example.com`, name: 'Ana' });
    });
    expect((await Promise.all(burst)).map((r) => r.status)).toEqual(Array(N).fill(202));
    // Sign-ups go through the outbox: the relay publishes them and the pending gauge returns to 0.
    const signUps = Array.from({ length: 5 }, () => {
      const userId = uniqueTag('prom-user');
      return postJson(`${apiUrl}/v1/users`, { userId, email: `${userId}@example.com`, name: 'Lin' });
    });
    expect((await Promise.all(signUps)).map((r) => r.status).every((s) => s < 300)).toBe(true);

    await waitFor(`${N} accepted welcomeEmail jobs in Prometheus`, async () =>
      (await scalar('sum(conveyor_jobs_accepted_total{workflow_type="welcomeEmail"})')) === N ? true : undefined,
    );
    expect(await scalar('sum(conveyor_http_requests_total{route="/v1/welcome-emails",status="202"})')).toBe(N);

    // The relay's view of the outbox: every sign-up published (pending 0, nothing too old).
    await waitFor('the outbox to drain', async () => {
      const [pending, age] = await Promise.all([
        scalar('max(conveyor_outbox_pending{job="conveyor-relay"})'),
        scalar('max(conveyor_outbox_oldest_pending_age_seconds{job="conveyor-relay"})'),
      ]);
      const rows = await d.db.selectFrom('outbox').select(({ fn }) => fn.countAll<number>().as('n')).where('published_at', 'is not', null).executeTakeFirstOrThrow();
      return pending === 0 && age === 0 && Number(rows.n) >= 5 ? true : undefined;
    });
  });

  test('route labels are templates, never raw paths', async () => {
    await fetch(`${apiUrl}/v1/jobs/${uniqueTag('no-such-job')}`);
    await fetch(`${apiUrl}/no/such/${uniqueTag('path')}`);
    const routes = await waitFor('the job lookup to be scraped', async () => {
      const result = await query('sum by (route) (conveyor_http_requests_total)');
      const names = result.map((r) => r.metric.route!);
      return names.includes('/v1/jobs/:jobId') && names.includes('unmatched') ? names : undefined;
    });
    for (const route of routes) expect(route).toMatch(/^(unmatched|\/[\w/:.-]*)$/);
    expect(routes.join(' ')).not.toMatch(/prom-|no-such|path-/);
  });

  test("the worker exposes the Temporal SDK's own metrics next to Conveyor's", async () => {
    // Slots and schedule-to-start are what the alert rules use; emails counted by the activity.
    for (const name of ['temporal_worker_task_slots_available', 'temporal_workflow_task_schedule_to_start_latency_seconds_bucket', 'temporal_activity_schedule_to_start_latency_seconds_bucket', 'temporal_sticky_cache_size']) {
      await waitFor(`${name} from the worker`, async () => ((await query(`count(${name}{job="conveyor-worker"})`)).length ? true : undefined));
    }
    await waitFor('welcome emails counted as sent', async () =>
      ((await scalar('sum(conveyor_emails_sent_total{job="conveyor-worker",template="welcome"})')) ?? 0) >= 12 ? true : undefined,
    );
  });

  test('the alert rules pass promtool and are loaded by the server', async () => {
    const check = execFileSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(check).toContain('SUCCESS');
    const res = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } };
    const rules = res.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name)).toEqual(expect.arrayContaining(['ConveyorOutboxStuck', 'ConveyorConsumerLagGrowing', 'ConveyorFailedJobsRising', 'ConveyorScheduleToStartLatencyHigh']));
    await waitFor('every rule evaluated without error', async () => (rules.length && (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json() as typeof res).data.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok') ? true : undefined), 10_000);
  });
});
