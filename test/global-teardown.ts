import type { DevServer } from '../platform/dev-server';

export default async function globalTeardown(): Promise<void> {
  await ((globalThis as Record<string, unknown>).__conveyorDevServer as DevServer | undefined)?.stop();
}
