/**
 * Child processes the harness starts, and what /proc says about them. Every child is registered
 * here so that an exit of the harness, however it happens, kills them all: a benchmark must
 * never leave a server behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Children are spawned detached (own process group), so this also reaches their children.
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Register a child started elsewhere (the dev server from platform/dev-server.ts). */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Synchronous on purpose: it also runs from process.on('exit'), where nothing async runs. */
export function killAllNow(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
}

let installed = false;
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAllNow();
      process.exit(130);
    });
  }
}

export interface Child {
  process: ChildProcess;
  pid: number;
  exited: Promise<void>;
  /** SIGTERM, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
}

export function startChild(command: string, args: string[], options: SpawnOptions & { logFile?: string } = {}): Child {
  const log = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(command, args, {
    detached: true,
    ...options,
    stdio: options.stdio ?? ['ignore', log, log],
  });
  if (typeof log === 'number') fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  track(child);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (graceMs = 10_000) => {
    killGroup(child, 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!done) {
      killGroup(child, 'SIGKILL');
      await exited;
    }
  };
  const kill = async () => {
    killGroup(child, 'SIGKILL');
    await exited;
  };
  return { process: child, pid: child.pid, exited, stop, kill };
}

/** Node with tsx, like the package.json scripts; an IPC channel so the child can report and notice our death. */
export function startNodeChild(script: string, env: NodeJS.ProcessEnv, logFile?: string): Child {
  return startChild(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', logFile ? fs.openSync(logFile, 'a') : 'ignore', 'ipc'],
  });
}

// ---- /proc ----

/**
 * The Temporal server's own pid: startDevServer runs it under a watchdog (its only child), and
 * the watchdog's CPU is not the server's.
 */
export function devServerPid(server: { process: { pid?: number } }): number {
  const watchdog = server.process.pid!;
  const children = fs.readFileSync(`/proc/${watchdog}/task/${watchdog}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`dev-server watchdog ${watchdog} has ${children.length} children, expected the server alone`);
  return Number(children[0]);
}

const CLOCK_TICKS = 100; // USER_HZ on Linux x86-64 and arm64

export interface ProcSample {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

/** CPU time (user + system, own threads) and RSS / peak RSS (VmHWM); undefined when the process is gone. */
export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Reset VmHWM so a phase's peak is its own (Linux: write 5 to clear_refs; needs ownership). */
export function resetPeakRss(pid: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the peak then covers the process's whole life, which the report says
  }
}

export interface ProcUsage {
  name: string;
  pid: number;
  cpuSeconds: number;
  /** CPU seconds per wall second: 1.0 is one core busy. */
  cpuCores: number;
  peakRssMiB: number;
}

/** Measure named processes over one phase: CPU used during it and the peak RSS within it. */
export function phaseMeter(procs: Array<{ name: string; pid: number }>) {
  const started = performance.now();
  const before = new Map<number, ProcSample | undefined>();
  for (const p of procs) {
    resetPeakRss(p.pid);
    before.set(p.pid, sampleProc(p.pid));
  }
  return {
    finish(): ProcUsage[] {
      const wall = (performance.now() - started) / 1000;
      return procs.flatMap((p) => {
        const a = before.get(p.pid);
        const b = sampleProc(p.pid);
        if (!a || !b) return [];
        const cpuSeconds = b.cpuSeconds - a.cpuSeconds;
        return [{ name: p.name, pid: p.pid, cpuSeconds: round(cpuSeconds, 2), cpuCores: round(cpuSeconds / wall, 2), peakRssMiB: round(b.peakRssMiB, 1) }];
      });
    },
  };
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
