/**
 * The engine's floor: the least a Temporal job can be, one workflow running one activity that
 * does nothing. Bench-only: bundled by the bench worker, never by Conveyor's worker.
 * Same activity timeout and retry as the welcome email, so the two recover alike under fault.
 */
import { proxyActivities } from '@temporalio/workflow';

export interface FloorActivities {
  noop(id: string): Promise<void>;
}

const { noop } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function floor(id: string): Promise<void> {
  await noop(id);
}
