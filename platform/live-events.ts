import { EventEmitter } from 'node:events';

/** What the feed needs of an event: its stream to filter on, its ID and type for the SSE fields. */
export interface LiveEvent {
  stream: string;
  eventId: string;
  type: string;
  /** Whose event it is: a tenant's feed shows its own events only. */
  tenantId: string;
}

/**
 * Fire-and-forget broadcast (the article's pub/sub): the relay announces each event it has
 * delivered; whoever listens at that moment gets it; nothing is stored or replayed. By itself it
 * spans one process (`npm start`, or SQLite, which is one machine anyway); with PostgreSQL the
 * roles route it through LISTEN/NOTIFY (live-events-postgres.ts) so any relay reaches the SSE
 * clients of every API process.
 */
export interface LiveEvents {
  publish(event: LiveEvent): void;
  subscribe(listener: (event: LiveEvent) => void): () => void;
  /** Hand this process's subscribers an event that arrived from elsewhere. */
  deliverLocally(event: LiveEvent): void;
  /** Send published events through another channel instead of straight to local subscribers. */
  setTransport(transport: ((event: LiveEvent) => void) | undefined): void;
}

export function createLiveEvents(): LiveEvents {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  let transport: ((event: LiveEvent) => void) | undefined;
  const deliverLocally = (event: LiveEvent) => void bus.emit('event', event);
  return {
    publish: (event) => (transport ?? deliverLocally)(event),
    subscribe(listener) {
      bus.on('event', listener);
      return () => bus.off('event', listener);
    },
    deliverLocally,
    setTransport: (t) => void (transport = t),
  };
}

/** The process's live feed: the relay publishes to it, the API's SSE route subscribes. */
export const liveEvents = createLiveEvents();
