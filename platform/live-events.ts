import { EventEmitter } from 'node:events';

/**
 * Fire-and-forget broadcast (the article's pub/sub): the relay announces each event it has
 * delivered; whoever listens at that moment gets it; nothing is stored or replayed. It spans one
 * process (the one running the relay, as `npm start` does).
 */
/** What the feed needs of an event: its stream to filter on, its ID and type for the SSE fields. */
export interface LiveEvent {
  stream: string;
  eventId: string;
  type: string;
  /** Whose event it is: a tenant's feed shows its own events only. */
  tenantId: string;
}

const bus = new EventEmitter();
bus.setMaxListeners(0);

export const liveEvents = {
  publish(event: LiveEvent): void {
    bus.emit('event', event);
  },
  subscribe(listener: (event: LiveEvent) => void): () => void {
    bus.on('event', listener);
    return () => bus.off('event', listener);
  },
};
