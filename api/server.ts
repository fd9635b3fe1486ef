import type { Server } from 'node:http';
import type { AppDeps } from './app';
import { createApp } from './app';
import { answerClientErrorsAsProblems } from './hygiene';
import { purgeExpiredIdempotencyKeys } from './idempotency';

const PURGE_EVERY_MS = 60 * 60 * 1000;

/** Listen on HOST:PORT; resolve once bound, with a readable error when the port is taken. */
export async function startApiServer(deps: AppDeps): Promise<{ url: string; close(): Promise<void> }> {
  const { host, port } = deps.config;
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'EADDRINUSE' ? `PORT ${port} on ${host} is already in use` : err.message);
  });
  answerClientErrorsAsProblems(server);
  const purge = setInterval(() => {
    purgeExpiredIdempotencyKeys(deps.db).catch((err: unknown) => deps.logger.warn({ err }, 'idempotency key purge failed'));
  }, PURGE_EVERY_MS).unref();
  const bound = server.address();
  return {
    url: `http://${host}:${typeof bound === 'object' && bound ? bound.port : port}`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(purge);
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
