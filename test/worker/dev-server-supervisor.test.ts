/** The supervisor's policy, with short-lived real processes standing in for the dev server. */
import { spawn } from 'node:child_process';
import type { DevServer } from '../../platform/dev-server';
import { superviseDevServer } from '../../worker/dev-server-supervisor';
import { testLogger } from '../support/env';

/** A "server" that lives `ms` milliseconds, then exits with code 3. */
function fakeServer(ms: number): DevServer {
  const child = spawn(process.execPath, ['-e', `setTimeout(() => process.exit(3), ${ms})`]);
  return { address: 'fake', uiUrl: undefined, process: child, stop: async () => void child.kill('SIGKILL') };
}

test('restarts a server that dies, and gives up after repeated fast failures', async () => {
  let starts = 0;
  const gaveUp = new Promise<string>((resolve) => {
    void superviseDevServer({
      start: async () => (starts++, fakeServer(50)),
      logger: testLogger,
      logFile: '/tmp/fake.log',
      onGiveUp: resolve,
      initialBackoffMs: 10,
      maxFastFailures: 4,
    });
  });
  expect(await gaveUp).toMatch(/failed 4 times in a row.*giving up \(see \/tmp\/fake\.log\)/);
  expect(starts).toBe(4); // the first start and three restarts
});

test('a server that stayed up long enough is restarted without counting old failures; stop() ends it', async () => {
  let starts = 0;
  let gaveUp = false;
  const supervisor = await superviseDevServer({
    start: async () => (starts++, fakeServer(starts === 1 ? 200 : 60_000)),
    logger: testLogger,
    logFile: '/tmp/fake.log',
    onGiveUp: () => void (gaveUp = true),
    initialBackoffMs: 10,
    fastFailureMs: 100,
    maxFastFailures: 1,
  });
  const first = supervisor.server;
  await new Promise((resolve) => first.process.once('exit', resolve));
  while (supervisor.restarts === 0 && !gaveUp) await new Promise((r) => setTimeout(r, 10));
  expect(gaveUp).toBe(false);
  expect(supervisor.server).not.toBe(first);
  const second = supervisor.server.process;
  await supervisor.stop();
  await new Promise((resolve) => (second.exitCode !== null || second.signalCode !== null ? resolve(undefined) : second.once('exit', resolve)));
  expect(starts).toBe(2);
});
