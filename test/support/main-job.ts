/**
 * The real main job (`npm start`'s entry point, bin/start.ts) as a child process on free ports,
 * for the tests that need the whole thing: the embedded dev server and Web UI, the mail catcher,
 * the worker, the relay and the API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../platform/ports';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir, TEST_RATE_LIMITS, useApiKeyFor } from './env';

const root = path.resolve(__dirname, '..', '..');

export interface MainJob {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export async function startMainJob(env: Record<string, string>): Promise<MainJob> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Not waitFor: an early exit must fail at once, not after the timeout.
  const deadline = Date.now() + 90_000;
  while (!output.includes('Conveyor is running.')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`main job exited early (${child.exitCode ?? child.signalCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`the main job did not say it is running within 90 s:\n${output}`);
    await sleep(100);
  }
  // Its API takes its own development key (npm start wrote it to the data dir): the tests' fetch sends it.
  if (env.CONVEYOR_DATA_DIR && env.PORT) useApiKeyFor(`http://127.0.0.1:${env.PORT}`, fs.readFileSync(path.join(env.CONVEYOR_DATA_DIR, 'dev-api-key'), 'utf8'));
  return { child, output: () => output, exited };
}

/** A fresh data dir and free ports for one main job; `api`, `uiUrl` and `temporal` say where things are. */
export async function mainJobEnv(extra: Record<string, string> = {}) {
  const ports = {
    PORT: await freePort(),
    TEMPORAL_DEV_SERVER_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    MAIL_CATCHER_PORT: await freePort(),
  };
  const dataDir = tempDir('main');
  return {
    env: { CONVEYOR_DATA_DIR: dataDir, ...TEST_RATE_LIMITS, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])), ...extra },
    dataDir,
    ports,
    api: `http://127.0.0.1:${ports.PORT}`,
    uiUrl: `http://127.0.0.1:${ports.TEMPORAL_UI_PORT}`,
    temporal: `127.0.0.1:${ports.TEMPORAL_DEV_SERVER_PORT}`,
  };
}
