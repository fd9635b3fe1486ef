/**
 * The Node half of a job type's declaration (its `job.ts`): what the API, the outbox relay, the
 * worker and the docs need to know of it. Everything here is data and pure functions, so the
 * layers above (api/, worker/) build routes, publishers and docs from the registry
 * (workflows/registry.ts) instead of hand-written lists. The bundle-safe half (IDs, messages,
 * types, the start) is the job's `definition.ts`.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { z } from 'zod';
import type { ActivityDeps } from '../activities';
import type { Config } from '../platform/config';
import type { Scope } from '../platform/tenancy';
import type { JobView, WorkflowStart } from '../platform/temporal';

/** A problem+json answer, as data (api/ turns it into a response). */
export interface ProblemSpec {
  status: 404 | 409 | 422;
  slug: string;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
}

/** `POST <path>` enqueues a job of this type and answers 202 with its status URL. */
export interface SubmitRoute<Input, Params = unknown, Body = unknown> {
  path: string;
  /** Path parameters (omit for a path without any). */
  params?: z.ZodType<Params>;
  body: z.ZodType<Body>;
  /**
   * The workflow input. `operationId` is derived from the client's Idempotency-Key when it sent
   * one (so a retry maps to the same job), random otherwise; a job whose ID needs no key ignores it.
   */
  toInput(request: { params: Params; body: Body; operationId: string; config: Config }): Input;
}

/** `GET <path>`: this job type's own status view (the status query while running, the result once closed). */
export interface StatusRoute<Input, Params = unknown> {
  path: string;
  params: z.ZodType<Params>;
  jobId(params: Params): string;
  /** The status URL of a job started with this input (the 202's Location). */
  url(input: Input): string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job's view type is its own
  query: QueryDefinition<any>;
  notFound: (params: Params) => ProblemSpec;
}

/** `POST <path>`: a signal or update that callers may send to a running job. */
export interface MessageRoute<Params = unknown, Body = unknown> {
  /** For the docs: what the message does. */
  description: string;
  path: string;
  /** Who may send it (default 'operate'; 'carrier' for what a carrier or supplier reports). */
  scope?: Extract<Scope, 'operate' | 'carrier'>;
  params: z.ZodType<Params>;
  /** The JSON body, if the message takes one (an empty body means all defaults). */
  body?: z.ZodType<Body>;
  jobId(params: Params): string;
  send(handle: WorkflowHandle, body: Body): Promise<unknown>;
  /** Answer when the job has closed (or never existed: then 404). */
  closed(params: Params, job: JobView): ProblemSpec;
  /** Answer when an update's validator refused it, with the validator's reason. */
  refused?(params: Params, reason: string): ProblemSpec;
  /** Where the 202's Location and 409s point: the job's status URL unless said otherwise. */
  statusUrl?(params: Params): string;
  /** The 202's body, besides the status URL. */
  accepted(params: Params, body: Body): Record<string, unknown>;
}

/** An outbox event type that starts jobs of this type: the relay's publisher for it. */
export interface OutboxTrigger<Input, Payload = unknown> {
  eventType: string;
  payload: z.ZodType<Payload>;
  toInput(payload: Payload, config: Config): Input;
}

/**
 * A job type that runs on the lane (docs/architecture.md, "The lane"): its jobs are rows in
 * `lane_items`, enqueued in bulk (`POST /v1/lanes/<name>/items`) and run in batches by one
 * long-lived workflow per partition, instead of one workflow each.
 */
export interface LaneSpec<Item = unknown> {
  /** Fixed per job type (LANE_PARTITIONS overrides it): an item's partition is a hash of its key. */
  partitions: number;
  /** Items per batch (LANE_BATCH_SIZE overrides it). */
  batchSize: number;
  /** Items of one batch run at once (in claim order, this many in flight). */
  concurrency: number;
  maxAttempts: number;
  /** The first retry's wait (LANE_RETRY_BACKOFF overrides it), doubling up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** One item's input (zod): a bulk request is refused whole, each bad item named by index. */
  item: z.ZodType<Item>;
  /**
   * One item's effect, in an activity. It may run again after a crash, so it must be exactly
   * once in effect, keyed by `itemId` (e.g. `once()`, or sendEmail's idempotency key).
   * A non-retryable ApplicationFailure fails the item at once.
   */
  run(deps: ActivityDeps, item: Item, context: { itemId: string; key: string; /** The tenant that enqueued it: the effect stays inside it. */ tenantId: string }): Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds jobs of every input type
export interface JobDeclaration<Input = any> {
  /** The job type's name in the API and docs, e.g. 'order'. */
  name: string;
  /** One paragraph for the docs: what a job of this type does. */
  description: string;
  /** The workflow function's name, as exported by workflows/index.ts. */
  workflowType: string;
  /** Its workflow ID, Web UI summary/details and search attributes, from its input. */
  start(input: Input): WorkflowStart;
  /** Activities of this job's own (its activities.ts), registered on every worker beside the shared ones in activities/. */
  activities?: (deps: ActivityDeps) => Record<string, (...args: any[]) => Promise<unknown>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** How other code starts it, when not over HTTP (docs only), e.g. 'child of order'. */
  startedBy?: string;
  submit?: SubmitRoute<Input, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  status?: StatusRoute<Input, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  messages?: Array<MessageRoute<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  outbox?: OutboxTrigger<Input, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Runs on the lane rather than one workflow per job (its workflow is then the lane's). */
  lane?: LaneSpec<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Declare a job type: the identity function, there for the type checking of each field against `Input`. */
export const declareJob = <Input>(job: JobDeclaration<Input>): JobDeclaration<Input> => job;

/** A submit route whose `toInput` is typed by its own params and body schemas. */
export const submitRoute = <Input, Params, Body>(route: SubmitRoute<Input, Params, Body>) => route;
/** A lane whose `run` is typed by its own item schema. */
export const laneSpec = <Item>(lane: LaneSpec<Item>) => lane;
/** A message route whose handlers are typed by its own params and body schemas. */
export const messageRoute = <Params, Body = undefined>(route: MessageRoute<Params, Body>) => route;
