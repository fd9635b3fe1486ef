/**
 * deploy/Procfile as a process manager runs it (honcho, foreman): each line through /bin/sh in a
 * process group of its own, stopped with SIGTERM to that group. Every role must come up and then
 * stop gracefully: exit code 0 after its "shutting down" line, well inside a manager's stop timeout.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../platform/ports';
import { testEnv, waitFor } from './support/env';

const root = path.resolve(__dirname, '..');
const procfile = fs
  .readFileSync(path.join(root, 'deploy', 'Procfile'), 'utf8')
  .split('\n')
  .map((line) => /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => [m[1]!, m[2]!] as const);

/** The log line each role prints once it is ready. */
const ready: Record<string, string> = { api: '"msg":"API listening"', worker: '"msg":"worker polling"', relay: '"msg":"outbox relay running"' };

test('the Procfile names the three roles', () => {
  expect(procfile.map(([name]) => name).sort()).toEqual(['api', 'relay', 'worker']);
});

test.each(procfile)('%s: starts from its Procfile line and exits 0 on SIGTERM to its process group', async (name, command) => {
  const env = { ...process.env, ...testEnv({ LOG_LEVEL: 'info', SMTP_URL: 'smtp://127.0.0.1:1025', PORT: String(await freePort()) }) };
  const child = spawn('/bin/sh', ['-c', command], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(`${name} to be ready`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited during start:\n${output}`);
      return output.includes(ready[name]!) ? true : undefined;
    }, 45_000);
    const stopping = Date.now();
    process.kill(-child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(12_000);
    expect(output).toContain('"msg":"shutting down"');
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}, 60_000);
