/**
 * The notification-email job type, on the lane: the welcome email's first mail for a user, at
 * volume (bulk enqueue, batched execution), with no workflow of its own.
 */
import { z } from 'zod';
import { ownedId } from '../../platform/schemas';
import { declareJob, laneSpec } from '../declaration';
import { laneStart, type LaneInput } from '../lane/definition';
import { sendNotificationEmail } from './activities';

export const notificationEmailJob = declareJob<LaneInput & { taskQueue: string }>({
  name: 'notification-email',
  description:
    "Sends a known user the welcome email (address and name from the users table), exactly once per item, on the lane: items are enqueued in bulk and run in batches by the lane's partition workflows.",
  workflowType: 'lane',
  start: laneStart,
  lane: laneSpec({
    partitions: 4,
    batchSize: 100,
    concurrency: 8,
    maxAttempts: 5,
    backoffMs: 1_000,
    maxBackoffMs: 5 * 60_000,
    item: z.strictObject({ userId: ownedId }),
    run: sendNotificationEmail,
  }),
});
