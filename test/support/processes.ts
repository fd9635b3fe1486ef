import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { waitFor } from './env';

const root = path.resolve(__dirname, '..', '..');

/** Conveyor's roles as run by `npm run <role>`, and the log line each prints once it is ready. */
const roles = {
  worker: { script: 'bin/worker.ts', ready: '"msg":"worker polling"' },
  api: { script: 'bin/api.ts', ready: '"msg":"API listening"' },
  relay: { script: 'bin/relay.ts', ready: '"msg":"outbox relay running"' },
};

export interface RoleProcess {
  child: ChildProcess;
  /** Resolves with how the process ended: `signal` is 'SIGKILL' after a crash. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** A role as a real child process (so a test can SIGKILL it), resolved once it is ready. */
export async function spawnRole(role: keyof typeof roles, env: Record<string, string>): Promise<RoleProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', roles[role].script], {
    cwd: root,
    // A worker run alone refuses to start without SMTP_URL; tests that read no mail give it the
    // address it used to default to.
    env: { SMTP_URL: 'smtp://127.0.0.1:1025', ...process.env, ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await waitFor(`the ${role} process to be ready`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${role} exited during start:\n${output}`);
    return output.includes(roles[role].ready) ? true : undefined;
  }, 30_000);
  return { child, exited, output: () => output };
}
