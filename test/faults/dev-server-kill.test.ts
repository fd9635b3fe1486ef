/**
 * The main job survives its dev server, and the dev server never survives the main job:
 * - SIGKILL the dev server during a burst of welcome emails through `npm start`: it is restarted
 *   (same SQLite file), the API answers 503 + Retry-After meanwhile, and every job that got a 202
 *   completes, each email sent once.
 * - SIGKILL the main job: its dev server goes too (the watchdog sees the pipe close).
 * - SIGKILL the main job and the watchdog together: the next start stops the orphan (pid file).
 * - A port held by someone else: the start refuses with a clear message.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { json, postJson, waitFor } from '../support/env';
import { mainJobEnv, startMainJob, type MainJob } from '../support/main-job';

const running: MainJob[] = [];
afterEach(async () => {
  for (const job of running.splice(0)) {
    if (job.child.exitCode === null && job.child.signalCode === null) {
      job.child.kill('SIGTERM');
      await job.exited;
    }
  }
});

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const serverPid = (dataDir: string) => Number(fs.readFileSync(path.join(dataDir, 'temporal.pid'), 'utf8'));

async function start(env: Record<string, string>) {
  const job = await startMainJob(env);
  running.push(job);
  return job;
}

test('SIGKILL of the dev server during a burst: restarted, 503 + Retry-After meanwhile, every 202 job completes once', async () => {
  const main = await mainJobEnv({ WELCOME_FOLLOW_UP_DELAY: '1s', TEMPORAL_RPC_TIMEOUT: '2s' });
  const job = await start(main.env);
  const firstPid = serverPid(main.dataDir);

  const users = Array.from({ length: 40 }, (_, i) => ({ userId: `burst-${i}`, email: `burst-${i}@example.com`, name: `Burst ${i}` }));
  const statuses: number[] = [];
  let sent = 0;
  let killed = false;
  // Four lanes post the burst; after the 8th post the dev server is SIGKILLed mid-burst. A 503
  // is retried with the same user (the job ID is derived from it), as a client should.
  const lane = async (mine: typeof users) => {
    for (const user of mine) {
      for (;;) {
        const res = await postJson(`${main.api}/v1/welcome-emails`, user);
        statuses.push(res.status);
        if (++sent === 8 && !killed) {
          killed = true;
          process.kill(firstPid, 'SIGKILL');
        }
        if (res.status === 202 || res.status === 200) break;
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        await sleep(500);
      }
      await sleep(50);
    }
  };
  await Promise.all([0, 1, 2, 3].map((k) => lane(users.filter((_, i) => i % 4 === k))));

  // The fault fired: the server died, was restarted under another pid, and the API noticed.
  expect(killed).toBe(true);
  expect(alive(firstPid)).toBe(false);
  expect(serverPid(main.dataDir)).not.toBe(firstPid);
  expect(job.output()).toContain('the embedded Temporal dev server exited; restarting it');
  expect(job.output()).toContain('the embedded Temporal dev server is back');
  expect(statuses).toContain(503);

  for (const user of users) {
    await waitFor(`${user.userId} to complete`, async () => ((await json(await fetch(`${main.api}/v1/jobs/welcome-email%3A${user.userId}`))).status === 'COMPLETED' ? true : undefined), 90_000);
  }
  const { messages } = await json(await fetch(`${main.api}/dev/mailbox?limit=500`));
  for (const user of users) {
    const theirs = messages.filter((m: { to: string }) => m.to === user.email).map((m: { subject: string }) => m.subject).sort();
    expect(theirs).toEqual(['Getting started with Conveyor', `Welcome to Conveyor, ${user.name}!`]);
  }
  expect(job.child.exitCode).toBeNull(); // the main job itself never stopped
}, 240_000);

test('SIGKILL of the main job takes its dev server down too', async () => {
  const main = await mainJobEnv();
  const job = await start(main.env);
  const server = serverPid(main.dataDir);
  const watchdog = parentOf(server);
  expect(watchdog).not.toBe(job.child.pid);
  job.child.kill('SIGKILL');
  await job.exited;
  await waitFor('the dev server to exit', async () => (!alive(server) && !alive(watchdog) ? true : undefined), 20_000);
});

test('a dev server orphaned by an earlier run is stopped by the next start', async () => {
  const main = await mainJobEnv();
  const first = await start(main.env);
  const orphan = serverPid(main.dataDir);
  // Kill the main job and the watchdog at once: nothing is left to stop the server.
  process.kill(parentOf(orphan), 'SIGKILL');
  first.child.kill('SIGKILL');
  await first.exited;
  await sleep(500);
  expect(alive(orphan)).toBe(true);

  const second = await start(main.env);
  expect(second.output()).toContain('stopped a Temporal dev server left running by an earlier run');
  expect(alive(orphan)).toBe(false);
  expect(serverPid(main.dataDir)).not.toBe(orphan);
  await waitFor('the new server to be ready', async () => ((await fetch(`${main.api}/readyz`)).status === 200 ? true : undefined));
}, 180_000);

test('a port held by another process: a clear refusal', async () => {
  const main = await mainJobEnv();
  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(main.ports.TEMPORAL_DEV_SERVER_PORT, '127.0.0.1', resolve));
  try {
    await expect(startMainJob(main.env)).rejects.toThrow(new RegExp(`Temporal port ${main.ports.TEMPORAL_DEV_SERVER_PORT} on 127.0.0.1 is already in use`));
  } finally {
    squatter.close();
  }
});
