/** The ending every benchmark entry point shares. */
import { closeHttpAgent } from './load';
import { killAllNow } from './procs';

/** Run a benchmark's `main`: report a failure as exit code 1, then stop every child and the process. */
export function runBench(name: string, main: () => Promise<unknown>): void {
  main()
    .catch((err: unknown) => {
      process.stderr.write(`${name} failed: ${(err as Error)?.stack ?? err}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      closeHttpAgent();
      killAllNow();
      // Open handles (gRPC channels, timers of killed children) must not keep a finished run alive.
      setTimeout(() => process.exit(), 500).unref();
    });
}
