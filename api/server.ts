import type { Server } from 'node:http';
import type { AppDeps } from './app';
import { createApp } from './app';

/** Listen on HOST:PORT; resolve once bound, with a readable error when the port is taken. */
export async function startApiServer(deps: AppDeps): Promise<{ url: string; close(): Promise<void> }> {
  const { host, port } = deps.config;
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'EADDRINUSE' ? `PORT ${port} on ${host} is already in use` : err.message);
  });
  const bound = server.address();
  return {
    url: `http://${host}:${typeof bound === 'object' && bound ? bound.port : port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
