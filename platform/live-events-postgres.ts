/**
 * The live feed across processes on PostgreSQL: publishing is a NOTIFY on one channel, and each
 * API process LISTENs and hands what arrives to its SSE clients. Still fire-and-forget: NOTIFY
 * keeps nothing for a process that is not listening, a publish that fails is dropped, and a
 * listener whose connection broke misses what was sent until it has reconnected.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { liveEvents as processLiveEvents, type LiveEvent, type LiveEvents } from './live-events';
import type { Config } from './config';
import type { Logger } from './logger';

export const LIVE_CHANNEL = 'conveyor_live';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; such an event is not broadcast. */
const MAX_PAYLOAD_BYTES = 7999;
const RECONNECT_DELAY_MS = 1_000;

export interface LiveEventsBridgeOptions {
  databaseUrl: string;
  logger: Logger;
  /** This process publishes (a relay): send through NOTIFY. */
  publish?: boolean;
  /** This process serves the live feed (an API): LISTEN and deliver to local subscribers. */
  listen?: boolean;
  /** The process's feed unless given (tests bridge several feeds in one process). */
  feed?: LiveEvents;
}

export interface LiveEventsBridge {
  /** Resolves once the LISTEN is in place (immediately when not listening). */
  listening: Promise<void>;
  close(): Promise<void>;
}

export function bridgeLiveEvents({ databaseUrl, logger, publish = false, listen = false, feed = processLiveEvents }: LiveEventsBridgeOptions): LiveEventsBridge {
  const log = logger.child({ component: 'live-events' });
  let closed = false;

  // One connection, so NOTIFYs leave in the order they were published; the pool reconnects.
  const notifier = publish ? new pg.Pool({ connectionString: databaseUrl, max: 1 }) : undefined;
  notifier?.on('error', (err) => log.warn({ err: err.message }, 'live feed NOTIFY connection failed'));
  if (notifier) {
    feed.setTransport((event: LiveEvent) => {
      const payload = JSON.stringify(event);
      if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
        log.warn({ eventId: event.eventId, bytes: Buffer.byteLength(payload) }, 'event too large for the live feed; not broadcast');
        return;
      }
      // Not awaited: the relay never waits on, or fails because of, the live feed.
      notifier.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, payload]).catch((err: Error) => log.warn({ err: err.message, eventId: event.eventId }, 'live feed NOTIFY failed; event not broadcast'));
    });
  }

  let listener: pg.Client | undefined;
  const connectListener = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    client.on('notification', (msg) => {
      if (msg.channel !== LIVE_CHANNEL || !msg.payload) return;
      try {
        feed.deliverLocally(JSON.parse(msg.payload) as LiveEvent);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'unreadable live feed notification');
      }
    });
    // A lost connection would silently end the feed for this process: reconnect until closed.
    client.on('error', (err) => {
      log.warn({ err: err.message }, 'live feed LISTEN connection lost; reconnecting');
      void client.end().catch(() => undefined);
      if (listener === client) void reconnect();
    });
    listener = client;
    await client.connect();
    await client.query(`LISTEN ${LIVE_CHANNEL}`);
  };
  const reconnect = async () => {
    while (!closed) {
      await sleep(RECONNECT_DELAY_MS);
      if (closed) return;
      try {
        await connectListener();
        log.info('live feed LISTEN connection restored');
        return;
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'live feed LISTEN reconnect failed');
      }
    }
  };
  const listening = listen ? connectListener() : Promise.resolve();

  return {
    listening,
    async close() {
      closed = true;
      if (notifier) feed.setTransport(undefined);
      await listener?.end().catch(() => undefined);
      await notifier?.end().catch(() => undefined);
    },
  };
}

/** For the roles: on PostgreSQL, bridge this process's live feed; on SQLite (one process) nothing. */
export async function startLiveEventsBridge(
  database: Config['database'],
  logger: Logger,
  role: Pick<LiveEventsBridgeOptions, 'publish' | 'listen'>,
): Promise<LiveEventsBridge | undefined> {
  if (database.kind !== 'postgres') return undefined;
  const bridge = bridgeLiveEvents({ databaseUrl: database.url, logger, ...role });
  await bridge.listening;
  return bridge;
}
