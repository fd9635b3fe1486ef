/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate with (zod 4's
 * z.toJSONSchema) and from the job registry: each job type's submit, status and message routes
 * come from its declaration, the others from the table below, which names the schemas each route
 * parses. test/api/openapi.test.ts checks that this document and the app's routes agree both ways.
 */
import { z } from 'zod';
import { correlationId } from '../platform/schemas';
import type { JobDeclaration } from '../workflows/declaration';
import { accountPath, emailChangeRequest } from './accounts';
// Read when the document is built (after every module has loaded), so this import cycle is harmless.
import { mailboxQuery } from './app';
import { payloadsBody } from './codec-server';
import { bulkRetryBody, jobIdPath, listJobsQuery } from './job-management';
import { createScheduleBody, pauseBody, scheduleIdPath } from './schedules';
import { startOptionsQuery } from './start-options';
import { eventsQuery, groupPath, seekBody, streamPath } from './streams';
import { skuPath } from './inventory';
import { newKey } from './keys';
import { laneBodies, laneItemId } from './lanes';
import { tenantId } from '../platform/tenancy';
import { userPath } from './users';
import { createWebhookEndpointBody, webhookEndpointPath } from './webhook-endpoints';
import { newUser } from '../workflows/welcome-email/job';

type Method = 'get' | 'post' | 'put' | 'delete';

export interface RouteDoc {
  method: Method;
  /** The Express path, e.g. /v1/jobs/:jobId/retry. */
  path: string;
  summary: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The body may be left out (all its fields have defaults). */
  bodyOptional?: boolean;
  /** The success answer: status and what it holds. */
  ok: { status: 200 | 201 | 202 | 204; description: string; location?: boolean; contentType?: string; schema?: Record<string, unknown> };
  /** Other statuses this route answers with problem+json, besides those every route may give. */
  problems?: number[];
  /** The route calls Temporal: 503 + Retry-After when it is unreachable. */
  temporal?: boolean;
  /** Also answers 200 (e.g. a submit whose job already finished). */
  alsoOk?: string;
}

const describeFields = 'Errors name each field: `errors: [{ pointer, detail }]`.';

/** Every route the registry builds (api/jobs.ts), from each job's declaration. */
function registryRoutes(jobs: JobDeclaration[]): RouteDoc[] {
  return jobs.flatMap((job): RouteDoc[] => [
    ...(job.submit
      ? [
          {
            method: 'post' as const,
            path: job.submit.path,
            summary: `Submit a ${job.name} job`,
            tag: job.name,
            params: job.submit.params,
            query: startOptionsQuery,
            body: job.submit.body,
            ok: { status: 202 as const, description: `Accepted: ${job.description}`, location: true },
            alsoOk: 'The job with this key had already finished: nothing new was accepted; the finished job.',
            temporal: true,
          },
        ]
      : []),
    ...(job.status
      ? [{ method: 'get' as const, path: job.status.path, summary: `Read a ${job.name} job`, tag: job.name, params: job.status.params, ok: { status: 200 as const, description: 'The job: its own view while it runs, its result once closed.' }, temporal: true, problems: [404] }]
      : []),
    ...(job.messages ?? []).map(
      (message): RouteDoc => ({
        method: 'post',
        path: message.path,
        summary: message.description,
        tag: job.name,
        params: message.params,
        body: message.body,
        bodyOptional: true,
        ok: { status: 202, description: 'Accepted by the running job.', location: true },
        temporal: true,
        problems: [404, 409],
      }),
    ),
  ]);
}

const nullableString = { type: ['string', 'null'] };
/** One row of GET /v1/jobs (a run of a job), with its failure when it ended without completing. */
const jobRow = {
  type: 'object',
  required: ['jobId', 'runId', 'type', 'status', 'correlationId', 'startedAt', 'runsAt', 'closedAt', 'statusUrl'],
  properties: {
    jobId: { type: 'string' },
    runId: { type: 'string' },
    type: { type: 'string', description: 'The job type (registry name).' },
    status: { type: 'string', enum: ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW'] },
    correlationId: nullableString,
    startedAt: { type: 'string', format: 'date-time' },
    runsAt: { ...nullableString, description: 'A delayed job: when it runs (or ran).' },
    closedAt: nullableString,
    statusUrl: { type: 'string' },
    failure: {
      type: ['object', 'null'],
      properties: {
        message: { type: 'string' },
        type: nullableString,
        activity: nullableString,
        attempts: { type: ['integer', 'null'] },
        retryState: nullableString,
      },
    },
  },
};
const jobPage = { type: 'object', required: ['jobs', 'next'], properties: { jobs: { type: 'array', maxItems: 100, items: jobRow }, next: { ...nullableString, description: 'The cursor of the next page; null on the last.' } } };

function otherRoutes(jobs: JobDeclaration[], allowPrivateNetworks: boolean, mailbox: boolean): RouteDoc[] {
  const names = jobs.map((j) => j.name) as [string, ...string[]];
  const submittable = jobs.filter((j) => j.submit).map((j) => j.name) as [string, ...string[]];
  const routes: RouteDoc[] = [
    { method: 'get', path: '/healthz', summary: 'The process is up', tag: 'operations', ok: { status: 200, description: '`{ status: "ok" }`' } },
    { method: 'get', path: '/readyz', summary: 'Temporal and the database are reachable (503 with the same body when not)', tag: 'operations', ok: { status: 200, description: 'Ready.' } },
    { method: 'get', path: '/metrics', summary: 'Prometheus metrics (text exposition format)', tag: 'operations', ok: { status: 200, description: 'Metrics.', contentType: 'text/plain' } },
    { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'operations', ok: { status: 200, description: 'The OpenAPI 3.1 document.' } },
    { method: 'get', path: '/docs', summary: 'The API docs page (works offline)', tag: 'operations', ok: { status: 200, description: 'HTML.', contentType: 'text/html' } },
    { method: 'get', path: '/docs/init.js', summary: "The docs page's script (its other assets are under /docs/assets/)", tag: 'operations', ok: { status: 200, description: 'JavaScript.', contentType: 'application/javascript' } },

    { method: 'get', path: '/v1/jobs', summary: 'List jobs (newest first, bounded pages); status=FAILED is the failed-job view with reasons and attempts', tag: 'jobs', query: listJobsQuery(names), ok: { status: 200, description: 'One page of jobs: pass `next` back for the following page.', schema: jobPage }, temporal: true },
    { method: 'get', path: '/v1/jobs/:jobId', summary: 'Read any job', tag: 'jobs', params: jobIdPath, ok: { status: 200, description: 'Status, step, result or failure, start time (startsAt for a delayed job).' }, temporal: true, problems: [404] },
    { method: 'post', path: '/v1/jobs/:jobId/retry', summary: 'Run a FAILED, TIMED_OUT or TERMINATED job again with the same input (a new run of the same job ID)', tag: 'jobs', params: jobIdPath, ok: { status: 202, description: 'The new run.', location: true }, temporal: true, problems: [404, 409] },
    { method: 'post', path: '/v1/jobs/:jobId/cancel', summary: "Request cancellation of a running job (its cleanup runs: the order saga compensates)", tag: 'jobs', params: jobIdPath, ok: { status: 202, description: 'Cancellation requested.', location: true }, temporal: true, problems: [404, 409] },
    { method: 'post', path: '/v1/jobs/retries', summary: 'Retry the failed jobs matching a filter: one bounded page per request, idempotent', tag: 'jobs', body: bulkRetryBody(names), ok: { status: 200, description: '`{ retried, skipped, jobs, next }`.' }, temporal: true },

    { method: 'post', path: '/v1/schedules', summary: 'Create a schedule (cron or interval) for a job type and its input', tag: 'schedules', body: createScheduleBody(submittable), ok: { status: 201, description: 'The schedule, with its next runs.', location: true }, temporal: true, problems: [409] },
    { method: 'get', path: '/v1/schedules', summary: 'List schedules', tag: 'schedules', query: z.strictObject({ pageSize: z.coerce.number().int().min(1).max(100).default(20), next: z.string().max(4096).optional() }), ok: { status: 200, description: '`{ schedules, next }`.' }, temporal: true },
    { method: 'get', path: '/v1/schedules/:scheduleId', summary: 'Describe a schedule: spec, state, next runs, recent runs', tag: 'schedules', params: scheduleIdPath, ok: { status: 200, description: 'The schedule.' }, temporal: true, problems: [404] },
    { method: 'delete', path: '/v1/schedules/:scheduleId', summary: 'Delete a schedule (its running jobs go on)', tag: 'schedules', params: scheduleIdPath, ok: { status: 204, description: 'Deleted.' }, temporal: true, problems: [404] },
    ...(['pause', 'unpause', 'trigger'] as const).map(
      (action): RouteDoc => ({
        method: 'post',
        path: `/v1/schedules/:scheduleId/${action}`,
        summary: action === 'trigger' ? 'Start a run now' : `${action[0]!.toUpperCase()}${action.slice(1)} the schedule`,
        tag: 'schedules',
        params: scheduleIdPath,
        body: pauseBody,
        bodyOptional: true,
        ok: { status: 202, description: 'Accepted.', location: true },
        temporal: true,
        problems: [404],
      }),
    ),

    { method: 'post', path: '/v1/webhook-endpoints', summary: 'Register a webhook endpoint of your tenant for event types (the `webhooks` scope; the signing secret is shown once, here)', tag: 'webhooks', body: createWebhookEndpointBody(allowPrivateNetworks), ok: { status: 201, description: 'The endpoint and its secret.', location: true } },
    { method: 'get', path: '/v1/webhook-endpoints', summary: 'List your tenant\'s webhook endpoints (newest 100)', tag: 'webhooks', ok: { status: 200, description: '`{ endpoints }`.' } },
    { method: 'get', path: '/v1/webhook-endpoints/:endpointId', summary: 'Read a webhook endpoint', tag: 'webhooks', params: webhookEndpointPath, ok: { status: 200, description: 'The endpoint (without its secret).' }, problems: [404] },
    { method: 'delete', path: '/v1/webhook-endpoints/:endpointId', summary: 'Delete a webhook endpoint (pending deliveries to it stop)', tag: 'webhooks', params: webhookEndpointPath, ok: { status: 204, description: 'Deleted.' }, problems: [404] },

    { method: 'get', path: '/v1/accounts/:accountId', summary: 'An account: balance and ledger entries', tag: 'accounts', params: accountPath, ok: { status: 200, description: 'The account.' }, problems: [404] },
    { method: 'put', path: '/v1/accounts/:accountId/email', summary: "Set the account's email (naturally idempotent)", tag: 'accounts', params: accountPath, body: emailChangeRequest, ok: { status: 200, description: 'The account.' }, problems: [404] },
    { method: 'post', path: '/v1/users', summary: 'Create a user; its UserSignedUp outbox row starts the welcome job', tag: 'users', body: newUser, ok: { status: 201, description: 'The user and its welcome job.', location: true }, alsoOk: 'The same user again: nothing new.', problems: [409] },
    { method: 'get', path: '/v1/users/:userId', summary: 'A user', tag: 'users', params: userPath, ok: { status: 200, description: 'The user.' }, problems: [404] },
    { method: 'get', path: '/v1/outbox', summary: 'Outbox health: pending, parked, published, relay lag, parked rows', tag: 'users', ok: { status: 200, description: 'The outbox.' } },
    { method: 'post', path: '/v1/outbox/:id/retry', summary: 'Re-queue a parked outbox row', tag: 'users', params: z.object({ id: z.coerce.number().int().positive() }), ok: { status: 202, description: 'Pending again.' }, problems: [404] },
    { method: 'get', path: '/v1/inventory', summary: 'Every SKU with stock and price', tag: 'inventory', ok: { status: 200, description: 'The SKUs.' } },
    { method: 'get', path: '/v1/inventory/:sku', summary: 'One SKU', tag: 'inventory', params: skuPath, ok: { status: 200, description: 'The SKU.' }, problems: [404] },
    { method: 'get', path: '/v1/streams/:stream/events', summary: 'Read a stream from an offset', tag: 'streams', params: streamPath, query: eventsQuery, ok: { status: 200, description: 'Events.' } },
    { method: 'get', path: '/v1/streams/:stream/consumers', summary: "Your tenant's instances of the stream's consumer groups, their offsets and lag (in your events)", tag: 'streams', params: streamPath, ok: { status: 200, description: 'Consumer groups.' }, temporal: true },
    { method: 'post', path: '/v1/streams/:stream/consumers/:group/seek', summary: "Move your tenant's instance of a consumer group to an offset (replay)", tag: 'streams', params: groupPath, body: seekBody, ok: { status: 202, description: 'Accepted.' }, temporal: true, problems: [404] },
    { method: 'get', path: '/v1/topics/:stream/live', summary: 'Live feed of a stream (server-sent events, at most once)', tag: 'streams', params: streamPath, ok: { status: 200, description: 'An event stream.', contentType: 'text/event-stream' } },
    { method: 'get', path: '/v1/correlations/:correlationId', summary: 'Every workflow and event with this correlation ID', tag: 'streams', params: z.object({ correlationId }), ok: { status: 200, description: 'Workflows and events.' }, temporal: true },
  ];
  routes.push(
    { method: 'post', path: '/v1/keys', summary: 'Create an API key for a tenant (admin; the key is in this answer only)', tag: 'keys', body: newKey, ok: { status: 201, description: 'The key record and the key.' }, problems: [401, 403] },
    { method: 'get', path: '/v1/keys', summary: 'List API keys (admin; no secrets)', tag: 'keys', query: z.object({ tenant: tenantId.optional() }), ok: { status: 200, description: '`{ keys }`.' }, problems: [401, 403] },
    { method: 'delete', path: '/v1/keys/:keyId', summary: 'Revoke an API key (admin)', tag: 'keys', params: z.object({ keyId: z.string().regex(/^[a-z0-9]{16}$/) }), ok: { status: 204, description: 'Revoked.' }, problems: [401, 403, 404] },
  );
  for (const direction of ['decode', 'encode'] as const) {
    routes.push({
      method: 'post',
      path: `/codecs/${direction}`,
      summary: `Codec server for the Temporal Web UI: ${direction} payloads (the \`codec\` scope: every tenant's payloads)`,
      tag: 'operations',
      body: payloadsBody,
      ok: { status: 200, description: '`{ payloads }`.' },
      problems: [401, 403, 415, 422],
    });
  }
  // The lane, for the job types that run on it (workflows/registry.ts): one set of routes, the job type a path parameter.
  const laneJobs = jobs.filter((job) => job.lane);
  if (laneJobs.length > 0) {
    const lane = z.object({ jobType: z.enum(laneJobs.map((job) => job.name) as [string, ...string[]]) });
    const item = lane.extend({ itemId: laneItemId });
    const bodies = laneJobs.map(laneBodies);
    routes.push(
      {
        method: 'post',
        path: '/v1/lanes/:jobType/items',
        summary: 'Enqueue on the lane: `{ items: [{ key, input }] }` (1-1,000, committed in one transaction before the answer) or one `{ key, input }`',
        tag: 'lanes',
        params: lane,
        body: z.union(bodies.flatMap(({ item: one, bulk }): z.ZodType[] => [bulk, one]) as [z.ZodType, z.ZodType, ...z.ZodType[]]),
        ok: { status: 202, description: "Each item's ID, in request order (a key used before returns its existing item)." },
        alsoOk: 'One item whose key was used before: the existing item.',
        problems: [404],
      },
      { method: 'get', path: '/v1/lanes/:jobType/items', summary: 'The items enqueued under one correlation ID', tag: 'lanes', params: lane, query: z.object({ correlationId }), ok: { status: 200, description: '`{ items }`.' }, problems: [404] },
      { method: 'get', path: '/v1/lanes/:jobType/items/:itemId', summary: 'One item: status, attempts, last error, result', tag: 'lanes', params: item, ok: { status: 200, description: 'The item.' }, problems: [404] },
      { method: 'get', path: '/v1/lanes/:jobType/failed', summary: 'Items whose attempts ran out (the oldest 100), each with its retry URL', tag: 'lanes', params: lane, ok: { status: 200, description: '`{ count, items }`.' }, problems: [404] },
      { method: 'post', path: '/v1/lanes/:jobType/items/:itemId/retry', summary: 'Run a failed item again', tag: 'lanes', params: item, ok: { status: 202, description: 'The item, pending again.', location: true }, problems: [404, 409] },
      { method: 'get', path: '/v1/lanes/:jobType', summary: "The lane's settings and its items by status", tag: 'lanes', params: lane, ok: { status: 200, description: 'Partitions, batch size, counts.' }, problems: [404] },
    );
  }
  if (mailbox) routes.push({ method: 'get', path: '/dev/mailbox', summary: 'Mail the local catcher received (dev only), newest first', tag: 'operations', query: mailboxQuery, ok: { status: 200, description: 'Messages and `nextCursor`.' } });
  return routes;
}

/** The JSON Schema of what a client sends (the input side of transforms and defaults). */
const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

function parameters(where: 'path' | 'query', schema: z.ZodType | undefined) {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: propertySchema,
    };
  });
}

const ref = (kind: 'headers' | 'responses' | 'schemas' | 'parameters', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const MUTATING: Method[] = ['post', 'put', 'delete'];
const PROBLEM_TEXT: Record<number, string> = {
  401: 'Missing or wrong credentials.',
  403: 'Not allowed (origin or namespace).',
  400: 'Malformed request: bad JSON, a bad path or query parameter, a bad header. ' + describeFields,
  404: 'No such resource.',
  409: 'Conflict: the resource is in a state that refuses this (e.g. a closed job), or a request with this Idempotency-Key is still in flight.',
  413: 'The body is larger than 16 KB.',
  415: 'The body is not application/json.',
  422: 'Invalid fields (body, or the start options of a submit), or an Idempotency-Key reused for another request. ' + describeFields,
};

function operation(route: RouteDoc) {
  // The codec server sits before the Idempotency-Key layer (api/app.ts): its calls are pure.
  const mutating = MUTATING.includes(route.method) && !route.path.startsWith('/codecs/');
  const problems = new Set([400, ...(route.problems ?? []), ...(route.body ? [413, 415, 422] : []), ...(route.query === startOptionsQuery ? [422] : []), ...(mutating ? [409, 422] : [])]);
  const ok = route.ok;
  const success =
    ok.status === 204
      ? { description: ok.description, headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id') } }
      : {
          description: ok.description,
          headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id'), ...(ok.location ? { Location: ref('headers', 'Location') } : {}) },
          content: { [ok.contentType ?? 'application/json']: { schema: ok.schema ?? (ok.contentType ? { type: 'string' } : { type: 'object' }) } },
        };
  const responses: Record<string, unknown> = { [ok.status]: success };
  if (route.alsoOk) responses['200'] = { description: route.alsoOk, headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id'), Location: ref('headers', 'Location') }, content: { 'application/json': { schema: { type: 'object' } } } };
  if (route.path === '/readyz') responses['503'] = { description: 'Not ready: which check failed.', headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id') }, content: { 'application/json': { schema: { type: 'object' } } } };
  for (const status of [...problems].sort()) responses[String(status)] = { ...ref('responses', 'Problem'), description: PROBLEM_TEXT[status] };
  if (route.temporal) responses['503'] = ref('responses', 'Unavailable');
  responses.default = ref('responses', 'Problem');
  return {
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: route.summary,
    tags: [route.tag],
    parameters: [
      ...parameters('path', route.params),
      ...parameters('query', route.query),
      ref('parameters', 'X-Correlation-Id'),
      ...(mutating ? [ref('parameters', 'Idempotency-Key')] : []),
    ],
    ...(route.body ? { requestBody: { required: !route.bodyOptional, content: { 'application/json': { schema: jsonSchema(route.body) } } } } : {}),
    responses,
  };
}

/** Express's `/v1/jobs/:jobId` is OpenAPI's `/v1/jobs/{jobId}`. */
export const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function openApiDocument({ jobs, allowPrivateNetworks, mailbox }: { jobs: JobDeclaration[]; allowPrivateNetworks: boolean; mailbox: boolean }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...registryRoutes(jobs), ...otherRoutes(jobs, allowPrivateNetworks, mailbox)]) {
    (paths[toOpenApiPath(route.path)] ??= {})[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor',
      version: '0.1.0',
      description:
        'Durable asynchronous jobs on Temporal. Submit a job (202 + Location), read it, list and manage jobs, schedule them, receive webhooks. ' +
        'Errors are RFC 9457 problem+json. Every response carries X-Correlation-Id; every mutating request takes an Idempotency-Key.',
    },
    paths,
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string', description: 'urn:conveyor:problem:<slug>' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', required: ['pointer', 'detail'], properties: { pointer: { type: 'string' }, detail: { type: 'string' } } } },
          },
        },
      },
      headers: {
        'X-Correlation-Id': { description: 'Yours, or a new one: carried through every workflow and event of this request.', schema: { type: 'string' } },
        Location: { description: 'Where the created or accepted resource (the job, the schedule) can be read.', schema: { type: 'string' } },
        'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string' } },
      },
      parameters: {
        'X-Correlation-Id': { name: 'X-Correlation-Id', in: 'header', required: false, description: 'Trace this request through workflows and events.', schema: jsonSchema(correlationId) },
        'Idempotency-Key': {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'The same key and request replay the first response (Idempotent-Replayed: true); another request with the key is 422; while the first runs, 409.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
      },
      responses: {
        Problem: { description: 'A problem (RFC 9457).', headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id') }, content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } } },
        Unavailable: {
          description: 'Temporal (or a worker, for a status query) did not answer in time; retry after Retry-After. A submit may still have been accepted: retrying is safe.',
          headers: { 'X-Correlation-Id': ref('headers', 'X-Correlation-Id'), 'Retry-After': ref('headers', 'Retry-After') },
          content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } },
        },
      },
    },
  };
}
