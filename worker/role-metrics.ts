/** METRICS_PORT for the roles without an HTTP API (worker, relay); see platform/metrics.ts. */
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { startMetricsServer } from '../platform/metrics';
import { freePort } from '../platform/ports';

/**
 * Where the Temporal SDK's native exporter listens: a free loopback port, never scraped directly
 * (this process's /metrics appends its text). Undefined when this process serves no metrics.
 */
export async function temporalMetricsAddress(serving: boolean): Promise<string | undefined> {
  return serving ? `127.0.0.1:${await freePort()}` : undefined;
}

/** Serve GET /metrics on METRICS_PORT if set; returns how to stop it. */
export async function serveRoleMetrics(config: Config, logger: Logger): Promise<() => Promise<void>> {
  if (config.metricsPort === undefined) return async () => undefined;
  const server = await startMetricsServer(config.host, config.metricsPort);
  logger.info({ url: server.url }, 'metrics served');
  return server.close;
}
