/**
 * Runs the Temporal dev server as its own child and ties its life to our parent's: the parent
 * (the main job) holds the write end of our stdin, so when the parent dies, however it dies
 * (SIGKILL, OOM killer, a crash), the kernel closes that pipe, we read end-of-file, and we stop
 * the server. Linux's PDEATHSIG would do this in one line, but Node cannot set it.
 *
 *   node --import tsx platform/dev-server-watchdog.ts <pid file> <executable> [args...]
 *
 * Signals sent to us (the parent's stop()) are passed on to the server; we exit the way it did,
 * so the parent sees the server's own exit code or signal. The pid file names the server, so a
 * later start can find it should both of us have been killed at once (dev-server-guard.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const [pidFile, executable, ...args] = process.argv.slice(2);
if (!pidFile || !executable) {
  process.stderr.write('usage: dev-server-watchdog <pid file|-> <executable> [args...]\n');
  process.exit(2);
}

const server = spawn(executable, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (pidFile !== '-' && server.pid !== undefined) fs.writeFileSync(pidFile, `${server.pid}\n`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  server.kill(signal);
  // A server that ignores SIGTERM is killed; we must never leave it behind.
  setTimeout(() => server.kill('SIGKILL'), 15_000).unref();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGTERM'));
process.stdin.on('end', () => stop('SIGTERM')); // the parent is gone
process.stdin.on('error', () => stop('SIGTERM'));
process.stdin.resume();

server.once('error', (err) => {
  process.stderr.write(`dev-server-watchdog: cannot start ${executable}: ${err.message}\n`);
  process.exit(127);
});
server.once('exit', (code, signal) => {
  if (pidFile !== '-') fs.rmSync(pidFile, { force: true });
  if (signal) {
    // Die of the same signal, so the parent's 'exit' event reads like the server's own.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
