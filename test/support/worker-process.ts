import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitFor } from './env';

const root = path.resolve(__dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with how the process ended: `signal` is 'SIGKILL' after a crash. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** `npm run worker` as a real child process (so it can be SIGKILLed), ready once it polls. */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitFor('the worker process to poll', async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited during start:\n${output}`);
    return output.includes('"msg":"worker polling"') ? true : undefined;
  }, 30_000);
  return { child, exited, output: () => output };
}
