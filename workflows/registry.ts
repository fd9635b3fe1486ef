/**
 * Every job type Conveyor runs (Node side). The API's routes, the outbox relay's publishers and the
 * docs' job list are built from this list; the worker bundles the workflows of workflows/index.ts.
 * To add a job type: a folder with definition.ts, workflow.ts, job.ts (and activities.ts for
 * activities of its own), one line here and one in workflows/index.ts (docs/architecture.md walks
 * through one: restock).
 */
import { createActivities, type ActivityDeps } from '../activities';
import type { JobDeclaration } from './declaration';
import { depositJob } from './deposit/job';
import { createLaneActivities } from './lane/activities';
import { laneJob } from './lane/job';
import { notificationEmailJob } from './notification-email/job';
import { orderJob } from './order/job';
import { restockJob } from './restock/job';
import { shipmentJob } from './shipment/job';
import { reactionJob, streamConsumerJob, topicSubscriberJob } from './streams/job';
import { webhookDeliveryJob } from './webhook-delivery/job';
import { welcomeEmailJob } from './welcome-email/job';

export const jobs: JobDeclaration[] = [
  welcomeEmailJob,
  depositJob,
  orderJob,
  shipmentJob,
  restockJob,
  webhookDeliveryJob,
  notificationEmailJob,
  streamConsumerJob,
  topicSubscriberJob,
  reactionJob,
  laneJob,
];

/** Every activity a worker registers: the shared ones (activities/) and each job's own. */
export function createAllActivities(deps: ActivityDeps) {
  return Object.assign(createActivities(deps), createLaneActivities(deps, jobs), ...jobs.map((job) => job.activities?.(deps) ?? {})) as ReturnType<typeof createActivities>;
}

/** The declaration whose workflow type this is, if any (internal workflows of tests and benchmarks have none). */
export const jobOfWorkflowType = (workflowType: string) => jobs.find((job) => job.workflowType === workflowType);
