/**
 * The real main job (`npm start`'s entry point) as a child process on free ports: dev server,
 * mail catcher, worker and API together. Posts a job, reads the caught mail, stops with SIGTERM,
 * checks nothing is left running, then restarts on the same data dir and finds the job again.
 */
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { freePort } from '../../platform/ports';
import { json, postJson, tempDir, uniqueTag, waitFor } from '../support/env';
import { startMainJob } from '../support/main-job';

/** PIDs of live processes whose command line mentions `text` (e.g. our unique data dir). */
function processesMentioning(text: string): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) ? [Number(pid)] : [];
    } catch {
      return []; // exited while we looked
    }
  });
}

const isAlive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

const acceptsConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

test('npm start serves the 202 flow, stops cleanly on SIGTERM, and keeps its workflows across a restart', async () => {
  const dataDir = tempDir('e2e');
  const ports = {
    PORT: await freePort(),
    TEMPORAL_DEV_SERVER_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    MAIL_CATCHER_PORT: await freePort(),
  };
  const env = {
    CONVEYOR_DATA_DIR: dataDir,
    WELCOME_FOLLOW_UP_DELAY: '1s',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  };
  const api = `http://127.0.0.1:${ports.PORT}`;

  // First run: enqueue, and read the mail the worker sent through the real SMTP catcher.
  const first = await startMainJob(env);
  expect(first.output()).toContain(`API            ${api}`);
  expect(first.output()).toContain(`Web UI         http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`);
  expect(first.output()).toContain(`${api}/dev/mailbox`);
  expect((await fetch(`http://127.0.0.1:${ports.TEMPORAL_UI_PORT}/`)).status).toBe(200);

  // The development key: created once, kept in the data dir (the whole file is the key), printed.
  const key = fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8');
  expect(key).toMatch(/^cvk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
  expect(first.output()).toContain(`API key        ${key}`);
  const auth = { authorization: `Bearer ${key}` };
  expect((await fetch(`${api}/v1/inventory`, { headers: { authorization: '' } })).status).toBe(401);
  const get = (url: string) => fetch(url, { headers: auth });

  const userId = uniqueTag('u');
  const res = await postJson(`${api}/v1/welcome-emails`, { userId, email: 'grace@example.com', name: 'Grace' }, auth);
  expect(res.status).toBe(202);
  const { statusUrl } = await json(res);
  const mail = await waitFor('both emails in /dev/mailbox', async () => {
    const { messages } = await json(await get(`${api}/dev/mailbox`));
    return messages.length === 2 ? messages : undefined;
  });
  expect(mail.map((m: { subject: string; to: string }) => [m.subject, m.to])).toEqual([
    // Newest first.
    ['Getting started with Conveyor', 'grace@example.com'],
    ['Welcome to Conveyor, Grace!', 'grace@example.com'],
  ]);
  await waitFor('the job to complete', async () => ((await json(await get(`${api}${statusUrl}`))).status === 'COMPLETED' ? true : undefined));

  // SIGTERM: everything stops, the dev server included, and every port is released.
  const devServers = processesMentioning(dataDir);
  expect(devServers.length).toBeGreaterThan(0);
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  await waitFor('no process left running', async () => (processesMentioning(dataDir).filter(isAlive).length === 0 ? true : undefined), 10_000);
  for (const port of Object.values(ports)) expect(await acceptsConnections(port)).toBe(false);

  // Second run on the same data dir: the finished job is still there, and no email is re-sent.
  const second = await startMainJob(env);
  try {
    // The same key again: created once, not per start.
    expect(fs.readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8')).toBe(key);
    const job = await json(await get(`${api}${statusUrl}`));
    expect(job).toMatchObject({ status: 'COMPLETED', result: { followUp: { sent: true } } });
    const again = await postJson(`${api}/v1/welcome-emails`, { userId, email: 'grace@example.com', name: 'Grace' }, auth);
    expect(again.status).toBe(200);
    expect((await json(await get(`${api}/dev/mailbox`))).messages).toHaveLength(2);
  } finally {
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }
}, 180_000);
