import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { isDatabaseReachable, type Database } from '../db/database';
import type { Config } from '../platform/config';
import { withCorrelationId } from '../platform/correlation';
import type { Logger } from '../platform/logger';
import { MAILBOX_CURSOR, readMailboxPage } from '../platform/mail-catcher';
import { correlationId as correlationIdSchema } from '../platform/schemas';
import { createTemporalGateway, withRequestDeadline } from '../platform/temporal';
import { temporalReadiness } from '../platform/temporal-setup';
import { jobs } from '../workflows/registry';
import { accountOwnership, accountsRouter } from './accounts';
import { authenticate, requireScope } from './auth';
import { codecCors, codecServerRouter } from './codec-server';
import { limitBodyDepth, notFoundOrNotAllowed } from './hygiene';
import { idempotencyKeys } from './idempotency';
import { presentClientIds } from './present-ids';
import { inventoryRouter } from './inventory';
import { keysRouter } from './keys';
import { jobsRouter } from './jobs';
import { jobManagementRouter } from './job-management';
import { schedulesRouter } from './schedules';
import { webhookEndpointsRouter } from './webhook-endpoints';
import { docsRouter } from './docs-page';
import { LANE_BODY_LIMIT, lanesRouter } from './lanes';
import { apiMetrics } from './metrics';
import { HttpProblem, parseOrThrow, sendProblem } from './problem';
import { createRateLimits } from './rate-limits';
import { streamsRouter } from './streams';
import { asUnavailableProblem } from './temporal-errors';
import { traceRequests } from './tracing';
import { usersRouter } from './users';

export interface AppDeps {
  config: Config;
  client: Client;
  db: Database;
  logger: Logger;
  /** Serve GET /dev/mailbox from this folder (only when the local mail catcher is in use). */
  mailboxDir?: string;
}

const BODY_LIMIT = '16kb';
/** GET /dev/mailbox pages, newest first: `nextCursor` of one page is the `cursor` of the next. */
export const mailboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(MAILBOX_CURSOR, 'must be a nextCursor from an earlier page').optional(),
});
const READINESS_TIMEOUT_MS = 1_000;

/** The Express app, without listening: entry points and tests decide where it runs. */
export function createApp({ config, client, db, logger, mailboxDir }: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Who the client is (req.ip, the per-address limits): the socket's address unless TRUST_PROXY names the proxy.
  app.set('trust proxy', config.trustProxy);
  // METRICS=off: no request counting and no /metrics route (it answers 404 like any unknown path).
  const metrics = config.metricsEnabled ? apiMetrics(db) : undefined;
  if (metrics) app.use(metrics.countRequests);
  app.use(traceRequests);

  // Correlation ID first, so every later answer (errors included) carries it.
  app.use((req, res, next) => {
    const given = req.get('X-Correlation-Id');
    res.locals.correlationId = given ?? randomUUID();
    res.set('X-Correlation-Id', res.locals.correlationId);
    const started = process.hrtime.bigint();
    res.on('finish', () =>
      logger.info(
        { correlationId: res.locals.correlationId, method: req.method, path: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        'request',
      ),
    );
    if (given !== undefined && !correlationIdSchema.safeParse(given).success) {
      res.locals.correlationId = randomUUID();
      res.set('X-Correlation-Id', res.locals.correlationId);
      // Refused after authentication and the rate limits, so this answer carries their headers too.
      res.locals.invalidCorrelationId = true;
    }
    // Everything this request does, Temporal calls included, runs under its correlation ID and
    // one deadline for all its calls to Temporal.
    withCorrelationId(res.locals.correlationId, () => withRequestDeadline(config.temporal.rpcTimeoutMs, next));
  });
  // The codec server's CORS headers go on every /codecs answer, the 401s of authentication included.
  app.use(codecCors(config));
  // Everything but the public routes needs credentials (401), checked before any body is read,
  // and is rate-limited per key (429); the public routes per source address.
  const limits = createRateLimits(config);
  app.use(authenticate({ db, config, limits }), limits.perKey);
  app.use((_req, res, next) => {
    if (!res.locals.invalidCorrelationId) return next();
    next(new HttpProblem(400, 'invalid-header', 'Invalid X-Correlation-Id header', 'X-Correlation-Id must be 1-128 characters: letters, digits, ".", "_", ":" or "-".', {
      errors: [{ pointer: 'X-Correlation-Id', detail: 'invalid format' }],
    }));
  });
  // The codec server (`codec` scope): before the 16 KB JSON parser, it parses its own, larger bodies.
  app.use(codecServerRouter(config));
  // From here on every JSON answer shows business IDs as the client wrote them.
  app.use(presentClientIds);
  // A lane's bulk enqueue carries up to 1,000 items; every other route keeps the small limit.
  app.use('/v1/lanes', express.json({ limit: LANE_BODY_LIMIT, strict: true }));
  app.use(express.json({ limit: BODY_LIMIT, strict: true }), limitBodyDepth);

  if (metrics) app.get('/metrics', metrics.endpoint);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    // A cluster without Conveyor's namespace or search attributes is reachable but not ready:
    // every start would fail (`npm run temporal:setup` creates them).
    let missing: string[] = [];
    const [temporal, database] = await Promise.all([
      client
        .withDeadline(Date.now() + READINESS_TIMEOUT_MS, () => temporalReadiness(client, config.temporal.namespace))
        .then((gaps) => ((missing = gaps).length ? 'not set up' : 'ok'), () => 'unreachable'),
      isDatabaseReachable(db).then((ok) => (ok ? 'ok' : 'unreachable')),
    ]);
    const ready = temporal === 'ok' && database === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: { temporal, database }, ...(missing.length ? { missing } : {}) });
  });

  const gateway = createTemporalGateway(client, config.temporal);
  app.use(idempotencyKeys({ db, retentionMs: config.idempotencyKeyRetentionMs, logger }));
  app.use(accountOwnership(db));
  app.use(jobsRouter(gateway, jobs, config, { submitLimit: limits.submit }));
  app.use(jobManagementRouter(gateway, jobs));
  app.use(schedulesRouter(gateway, jobs, config));
  app.use(webhookEndpointsRouter(db, config));
  app.use(docsRouter({ jobs, allowPrivateNetworks: config.webhooks.allowPrivateNetworks, mailbox: mailboxDir !== undefined }));
  app.use(lanesRouter(gateway, db, jobs, config, logger, { submitLimit: limits.submit }));
  app.use(accountsRouter(db));
  app.use(usersRouter(db));
  app.use(streamsRouter(gateway, db));
  app.use(inventoryRouter(db));
  app.use(keysRouter(db));

  if (mailboxDir) {
    // Every tenant's mail: the development mail catcher only, and admin keys only.
    app.get('/dev/mailbox', requireScope('admin'), async (req, res) => {
      const { limit, cursor } = parseOrThrow(mailboxQuery, req.query, 'query');
      res.json(await readMailboxPage(mailboxDir, { limit, before: cursor }));
    });
  }

  app.use(notFoundOrNotAllowed(app));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    const problem = toProblem(asUnavailableProblem(err));
    if (problem.status >= 500 && problem.status !== 503) {
      logger.error({ err, correlationId: res.locals.correlationId }, 'unhandled error');
    }
    if (problem.status === 503) res.set('Retry-After', String(problem.extra.retryAfterSeconds ?? 5));
    sendProblem(res, problem, req.originalUrl);
  };
  app.use(onError);
  return app;
}

/** Body-parser errors carry a `type`; map each to the status a client can act on. */
function toProblem(err: unknown): HttpProblem {
  if (err instanceof HttpProblem) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  switch (e.type) {
    case 'entity.parse.failed':
      return new HttpProblem(400, 'malformed-json', 'Malformed JSON', `The body is not valid JSON: ${e.message}`);
    case 'entity.too.large':
      return new HttpProblem(413, 'body-too-large', 'Content Too Large', `The body is larger than ${e.limit ? `${e.limit} bytes` : BODY_LIMIT}.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', e.message);
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new HttpProblem(e.status, 'bad-request', 'Bad Request', e.message);
  }
  return new HttpProblem(500, 'internal-error', 'Internal Server Error', 'Something went wrong on our side; it has been logged.');
}
