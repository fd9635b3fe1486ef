/**
 * Before a start: a dev server left over from an earlier run (its pid file in the data dir still
 * names a live Temporal process) is stopped; a port held by anything else is a clear refusal, not
 * a server that fails to bind while we talk to whatever answers on that port.
 */
import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

/** The command line of `pid`, or '' where /proc is unavailable or the process is gone. */
const commandLine = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
};

/** Stop the server a pid file names, if it is still a live Temporal dev server; returns its pid. */
export async function clearStaleServer(pidFile: string, mustMention: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  // A recycled pid would belong to some unrelated process: only a dev server on our data may go.
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid) || !commandLine(pid).includes('start-dev') || !commandLine(pid).includes(mustMention)) {
    fs.rmSync(pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; alive(pid) && waited < 15_000; waited += 100) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let waited = 0; alive(pid) && waited < 5_000; waited += 100) await sleep(100);
  fs.rmSync(pidFile, { force: true });
  return pid;
}

/** Throw a readable error when `port` on `ip` is already taken. */
export async function assertPortFree(ip: string, port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`${what} port ${port} on ${ip} is already in use by another process (another Conveyor or Temporal still running?); stop it or choose another port`)
          : err,
      ),
    );
    probe.listen(port, ip, () => probe.close(() => resolve()));
  });
}
