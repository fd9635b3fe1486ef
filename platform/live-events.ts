import { EventEmitter } from 'node:events';
import type { StreamEvent } from '../workflows/definitions';

/**
 * Fire-and-forget broadcast (the article's pub/sub): the relay announces each event it has
 * delivered; whoever listens at that moment gets it; nothing is stored or replayed. It spans one
 * process (the one running the relay, as `npm start` does).
 */
const bus = new EventEmitter();
bus.setMaxListeners(0);

export const liveEvents = {
  publish(event: StreamEvent): void {
    bus.emit('event', event);
  },
  subscribe(listener: (event: StreamEvent) => void): () => void {
    bus.on('event', listener);
    return () => bus.off('event', listener);
  },
};
