/**
 * Every job type Conveyor runs (Node side). The API's routes, the outbox relay's publishers and the
 * docs' job list are built from this list; the worker bundles the workflows of workflows/index.ts.
 * To add a job type: a folder with definition.ts, workflow.ts and job.ts, one line here and one in
 * workflows/index.ts (docs/architecture.md walks through one).
 */
import type { JobDeclaration } from './declaration';
import { depositJob } from './deposit/job';
import { orderJob } from './order/job';
import { shipmentJob } from './shipment/job';
import { reactionJob, streamConsumerJob, topicSubscriberJob } from './streams/job';
import { welcomeEmailJob } from './welcome-email/job';

export const jobs: JobDeclaration[] = [welcomeEmailJob, depositJob, orderJob, shipmentJob, streamConsumerJob, topicSubscriberJob, reactionJob];

/** The declaration whose workflow type this is, if any (internal workflows of tests and benchmarks have none). */
export const jobOfWorkflowType = (workflowType: string) => jobs.find((job) => job.workflowType === workflowType);
