import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import { appendEvent } from '../db/events';
import { appendToOutbox, outboxStatus, retryParked } from '../db/outbox';
import { failpoint } from '../platform/failpoint';
import { ownedId } from '../platform/schemas';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { requireScope } from './auth';
import { welcomeEmailWorkflowId } from '../workflows/welcome-email/definition';
import { newUser } from '../workflows/welcome-email/job';
import { jobStatusUrl } from './jobs';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

export const userPath = z.object({ userId: ownedId });

/**
 * The outbox pattern: creating a user, its UserSignedUp event in the `users` stream and the outbox
 * message that starts the welcome job commit in one database transaction. The request never talks
 * to Temporal; the outbox relay does.
 */
export function usersRouter(db: Database): Router {
  const router = Router();
  const userUrl = (userId: string) => `/v1/users/${encodeURIComponent(userId)}`;
  const welcomeJob = (userId: string) => ({ jobId: welcomeEmailWorkflowId(userId), statusUrl: jobStatusUrl(welcomeEmailWorkflowId(userId)) });

  const tenantOf = () => currentTenant() ?? DEFAULT_TENANT;

  router.post('/v1/users', requireScope('jobs:submit'), requireJson, async (req, res) => {
    const user = parseOrThrow(newUser, req.body, 'body');
    const created = await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto('users')
        .values({ user_id: user.userId, tenant_id: tenantOf(), email: user.email, name: user.name, created_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('user_id').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      failpoint('user-before-outbox');
      await appendEvent(trx, {
        stream: 'users',
        eventId: `user:${user.userId}:signed-up`,
        type: 'UserSignedUp',
        payload: { userId: user.userId }, // no PII in the shared log
        correlationId: res.locals.correlationId,
      });
      await appendToOutbox(trx, {
        aggregateType: 'user',
        aggregateId: user.userId,
        eventType: 'UserSignedUp', // starts the welcome-email job (its declaration's outbox trigger)
        payload: user,
        correlationId: res.locals.correlationId,
      });
      return true;
    });
    if (!created) {
      throw new HttpProblem(409, 'user-exists', 'The user already exists', `User '${user.userId}' was created before.`, { userUrl: userUrl(user.userId) });
    }
    failpoint('user-after-commit');
    // 201: the user exists now. The welcome job does not yet: its status URL answers 404 until
    // the relay has started it (usually within OUTBOX_POLL_INTERVAL).
    res.status(201).location(userUrl(user.userId)).json({ userId: user.userId, welcomeJob: welcomeJob(user.userId) });
  });

  router.get('/v1/users/:userId', requireScope('jobs:read'), async (req, res) => {
    const { userId } = parseOrThrow(userPath, req.params, 'path');
    const user = await db.selectFrom('users').selectAll().where('user_id', '=', userId).where('tenant_id', '=', tenantOf()).executeTakeFirst();
    if (!user) throw new HttpProblem(404, 'user-not-found', 'No such user', `There is no user '${userId}'.`);
    res.json({ userId, email: user.email, name: user.name, createdAt: user.created_at, welcomeJob: welcomeJob(userId) });
  });

  // The caller's rows only: the outbox holds every tenant's messages.
  router.get('/v1/outbox', requireScope('operate'), async (_req, res) => {
    const status = await outboxStatus(db, tenantOf());
    res.json({
      pending: Number(status.pending),
      parked: status.parkedCount,
      published: Number(status.published),
      oldestPendingAgeMs: status.oldest_pending_at ? Date.now() - Date.parse(status.oldest_pending_at) : null,
      parkedRows: status.parked.map((r) => ({
        id: r.seq,
        eventType: r.event_type,
        aggregate: `${r.aggregate_type}:${r.aggregate_id}`,
        attempts: r.attempts,
        lastError: r.last_error,
        parkedAt: r.parked_at,
        retryUrl: `/v1/outbox/${r.seq}/retry`,
      })),
    });
  });

  router.post('/v1/outbox/:id/retry', requireScope('operate'), async (req, res) => {
    const { id } = parseOrThrow(z.object({ id: z.coerce.number().int().positive() }), req.params, 'path');
    if (!(await retryParked(db, id, tenantOf()))) {
      throw new HttpProblem(404, 'not-parked', 'No parked outbox row with this id', `Outbox row ${id} does not exist or is not parked.`);
    }
    res.status(202).json({ id, status: 'pending' });
  });

  return router;
}
