/**
 * Schedules over HTTP on Temporal Schedules (the real dev server runs them): create, describe with
 * next and recent runs, trigger now, pause/unpause, list, delete; a schedule ID is a business key;
 * bad cron strings and inputs name the field.
 */
import { json, postJson, uniqueTag, waitFor } from '../support/env';
import { startTestDeployment, type TestDeployment } from '../support/deployment';

let d: TestDeployment;
beforeAll(async () => {
  d = await startTestDeployment({ worker: true, mail: true, env: { WELCOME_FOLLOW_UP_DELAY: '1s' } });
});
afterAll(() => d?.stop());

const call = async (method: string, path: string, body?: unknown) => {
  const res = body === undefined ? await fetch(`${d.url}${path}`, { method }) : await postJson(`${d.url}${path}`, body);
  return { status: res.status, headers: res.headers, body: res.status === 204 ? null : await json(res) };
};

test('create, describe, trigger now (a run of the job), pause, unpause, list, delete', async () => {
  const scheduleId = uniqueTag('nightly');
  const userId = uniqueTag('u');
  const created = await call('POST', '/v1/schedules', {
    scheduleId,
    jobType: 'welcome-email',
    input: { userId, email: `${userId}@example.com`, name: 'Ada' },
    cron: '0 3 * * *',
    overlap: 'SKIP',
    note: 'nightly welcome digest',
  });
  expect(created.status).toBe(201);
  expect(created.headers.get('location')).toBe(`/v1/schedules/${scheduleId}`);
  expect(created.body).toMatchObject({ scheduleId, jobType: 'welcome-email', cron: '0 3 * * *', overlap: 'SKIP', paused: false });
  expect(created.body.nextRuns.length).toBeGreaterThan(0);
  expect(new Date(created.body.nextRuns[0]).getUTCHours()).toBe(3);

  const duplicate = await call('POST', '/v1/schedules', { scheduleId, jobType: 'welcome-email', input: { userId, email: `${userId}@example.com`, name: 'Ada' }, interval: '1h' });
  expect(duplicate.status).toBe(409);

  expect((await call('POST', `/v1/schedules/${scheduleId}/trigger`)).status).toBe(202);
  const triggered = await waitFor('the triggered run', async () => {
    const { body } = await call('GET', `/v1/schedules/${scheduleId}`);
    return body.recentRuns.length === 1 ? body.recentRuns[0] : undefined;
  });
  // Every run is a job of its own: the job's ID plus the run's time.
  expect(triggered.jobId).toMatch(new RegExp(`^welcome-email:${userId}-`));
  await waitFor('the scheduled job to complete', async () => ((await call('GET', triggered.statusUrl)).body.status === 'COMPLETED' ? true : undefined));

  expect((await call('POST', `/v1/schedules/${scheduleId}/pause`, { note: 'maintenance' })).status).toBe(202);
  expect((await call('GET', `/v1/schedules/${scheduleId}`)).body).toMatchObject({ paused: true, note: 'maintenance' });
  expect((await call('POST', `/v1/schedules/${scheduleId}/unpause`)).status).toBe(202);
  expect((await call('GET', `/v1/schedules/${scheduleId}`)).body.paused).toBe(false);

  const listed = await waitFor('the schedule in the list', async () => {
    const { body } = await call('GET', '/v1/schedules?pageSize=100');
    return body.schedules.find((s: { scheduleId: string }) => s.scheduleId === scheduleId);
  });
  expect(listed).toMatchObject({ workflowType: 'welcomeEmail', url: `/v1/schedules/${scheduleId}` });

  expect((await call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(204);
  expect((await call('GET', `/v1/schedules/${scheduleId}`)).status).toBe(404);
  expect((await call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(404);
  expect((await call('POST', `/v1/schedules/${scheduleId}/pause`)).status).toBe(404);
});

test('an interval schedule with path parameters runs the job type it names', async () => {
  const scheduleId = uniqueTag('restock');
  const created = await call('POST', '/v1/schedules', { scheduleId, jobType: 'restock', params: { sku: 'widget' }, input: { quantity: 5, supplier: 'acme' }, interval: '1h', paused: true });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ interval: '1h', paused: true });
  await call('DELETE', `/v1/schedules/${scheduleId}`);
});

test('bad requests name the field and create nothing', async () => {
  const userId = uniqueTag('u');
  const input = { userId, email: `${userId}@example.com`, name: 'Ada' };
  const cases: Array<[unknown, string[]]> = [
    [{ jobType: 'welcome-email', input, cron: 'every day' }, ['/cron']],
    [{ jobType: 'welcome-email', input, cron: '61 * * * *' }, ['/cron']], // well-formed, refused by the server's parser
    [{ jobType: 'welcome-email', input, cron: '0 3 * * *', interval: '1h' }, ['/cron']],
    [{ jobType: 'welcome-email', input }, ['/cron']],
    [{ jobType: 'welcome-email', input, interval: '0s' }, ['/interval']],
    [{ jobType: 'stream-consumer', input, interval: '1h' }, ['/jobType']],
    [{ jobType: 'welcome-email', input: { ...input, email: 'nope' }, interval: '1h' }, ['/input/email']],
    [{ jobType: 'restock', params: { sku: 'a b' }, input: { quantity: 1, supplier: 'acme' }, interval: '1h' }, ['/params/sku']],
    [{ jobType: 'welcome-email', input, interval: '1h', overlap: 'SOMETIMES' }, ['/overlap']],
  ];
  for (const [body, pointers] of cases) {
    const scheduleId = uniqueTag('bad');
    const res = await call('POST', '/v1/schedules', { scheduleId, ...(body as object) });
    expect([body, res.status]).toEqual([body, 422]);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(pointers);
    expect((await call('GET', `/v1/schedules/${scheduleId}`)).status).toBe(404);
  }
  expect((await call('GET', '/v1/schedules/a%20b')).status).toBe(400);
  expect((await call('GET', '/v1/schedules?pageSize=1000')).status).toBe(400);
});
