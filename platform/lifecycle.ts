import type { Logger } from './logger';

/**
 * Run `stop` once on the first SIGINT or SIGTERM, then exit. A second signal exits at once
 * (the operator insisted); child processes still get their own signal from the terminal.
 */
export function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Print a start-up failure as one readable line and exit non-zero. */
export function exitOnStartupError(err: unknown): never {
  process.stderr.write(`conveyor: cannot start: ${(err as Error).message}\n`);
  process.exit(1);
}
