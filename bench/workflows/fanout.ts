/**
 * Bench-only fan-out shapes (bundled by bench/fanout.ts, never by Conveyor's worker):
 * - `benchSubscriber`: a long-running subscriber that takes events by signal (durable pub/sub as
 *   Conveyor's topicSubscriber does it) and counts them;
 * - `benchFanOut` + `benchReaction`: one workflow per event that starts one child per subscriber.
 */
import { condition, defineQuery, defineSignal, executeChild, setHandler } from '@temporalio/workflow';

export const eventSignal = defineSignal<[eventId: string]>('event');
export const receivedQuery = defineQuery<number>('received');

export async function benchSubscriber(): Promise<void> {
  const seen = new Set<string>();
  setHandler(eventSignal, (eventId) => void seen.add(eventId));
  setHandler(receivedQuery, () => seen.size);
  await condition(() => false); // runs until the bench terminates it
}

export async function benchReaction(): Promise<void> {}

export async function benchFanOut(eventId: string, subscribers: number): Promise<void> {
  await Promise.all(Array.from({ length: subscribers }, (_, i) => executeChild(benchReaction, { workflowId: `${eventId}/reaction-${i}` })));
}
