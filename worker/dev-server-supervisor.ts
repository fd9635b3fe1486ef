/**
 * Keeps `npm start`'s embedded dev server running: if it dies (a crash, the OOM killer, a stray
 * kill), it is started again on the same ports and SQLite file, which keeps every workflow, after
 * a backoff (1 s, doubling to 30 s). Meanwhile the API answers 503 with Retry-After (Temporal is
 * unreachable) and the worker and relay retry on their own. Only repeated fast failures (a server
 * that cannot stay up) end the main job, with a message that says where its log is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DevServer } from '../platform/dev-server';
import type { Logger } from '../platform/logger';

export interface DevServerSupervisorOptions {
  start: () => Promise<DevServer>;
  logger: Logger;
  logFile: string;
  /** Called once when the supervisor gives up (the main job then stops). */
  onGiveUp: (reason: string) => void;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run shorter than this counts as a fast failure... */
  fastFailureMs?: number;
  /** ...and this many in a row end the main job. */
  maxFastFailures?: number;
}

export async function superviseDevServer(options: DevServerSupervisorOptions) {
  const { start, logger, logFile, onGiveUp, initialBackoffMs = 1_000, maxBackoffMs = 30_000, fastFailureMs = 60_000, maxFastFailures = 5 } = options;
  let current = await start(); // the first start's failure is the caller's to report
  let startedAt = Date.now();
  let stopping = false;
  let restarting: Promise<void> | undefined;
  let fastFailures = 0;
  let restarts = 0;

  const restart = async (code: number | null, signal: NodeJS.Signals | null) => {
    const ranMs = Date.now() - startedAt;
    // A run that lasted is not a crash loop: the count of fast failures starts over.
    fastFailures = ranMs < fastFailureMs ? fastFailures + 1 : 0;
    let backoffMs = initialBackoffMs * 2 ** Math.min(Math.max(fastFailures - 1, 0), 10);
    logger.error({ code, signal, ranMs, logFile }, 'the embedded Temporal dev server exited; restarting it');
    while (!stopping) {
      if (fastFailures >= maxFastFailures) {
        const reason = `the embedded Temporal dev server failed ${fastFailures} times in a row, each within ${fastFailureMs / 1000} s of starting; giving up (see ${logFile})`;
        logger.fatal({ logFile }, reason);
        onGiveUp(reason);
        return;
      }
      await sleep(Math.min(backoffMs, maxBackoffMs));
      if (stopping) return;
      try {
        current = await start();
        startedAt = Date.now();
        restarts++;
        watch(current);
        logger.warn({ restarts, address: current.address }, 'the embedded Temporal dev server is back');
        return;
      } catch (err) {
        fastFailures++;
        backoffMs *= 2;
        logger.error({ err, logFile }, 'the embedded Temporal dev server did not restart');
      }
    }
  };

  const watch = (server: DevServer) =>
    server.process.once('exit', (code, signal) => {
      if (!stopping) restarting = restart(code, signal).finally(() => (restarting = undefined));
    });
  watch(current);

  return {
    get server() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    async stop() {
      stopping = true;
      await restarting;
      await current.stop();
    },
  };
}
