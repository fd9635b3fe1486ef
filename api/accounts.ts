import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Client } from '@temporalio/client';
import type { Database } from '../db/database';
import type { Config } from '../platform/config';
import type * as workflows from '../workflows';
import { depositWorkflowId, type DepositRequest } from '../workflows/definitions';
import { operationIdFor, type IdempotencyContext } from './idempotency';
import { startJob } from './jobs';
import { HttpProblem, parseOrThrow } from './problem';
import { accountPath, depositRequest, emailChangeRequest } from './schemas';

/**
 * The article's two examples, for real: "add $50 to the balance" (a deposit: not idempotent, made
 * exactly-once by an operation key) and "set user.email to X" (naturally idempotent).
 */
export function accountsRouter(client: Client, config: Config, db: Database, requireJson: RequestHandler): Router {
  const router = Router();

  async function accountView(accountId: string) {
    const account = await db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    if (!account) throw new HttpProblem(404, 'account-not-found', 'No such account', `There is no account '${accountId}'.`);
    const entries = await db
      .selectFrom('ledger_entries')
      .select(['entry_id', 'amount', 'currency', 'balance_after', 'created_at'])
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('entry_id')
      .execute();
    return {
      accountId,
      email: account.email,
      currency: account.currency,
      balance: Number(account.balance),
      entries: entries.map((e) => ({ entryId: e.entry_id, amount: Number(e.amount), currency: e.currency, balanceAfter: Number(e.balance_after), createdAt: e.created_at })),
    };
  }

  router.post('/v1/accounts/:accountId/deposits', requireJson, async (req, res) => {
    const { accountId } = parseOrThrow(accountPath, req.params, 'path');
    const body = parseOrThrow(depositRequest, req.body, 'body');
    // With an Idempotency-Key the job ID derives from it, so no retry of this request can ever
    // start a second deposit; without one, every POST is a new deposit.
    const idempotency: IdempotencyContext | undefined = res.locals.idempotency;
    const operationId = idempotency ? operationIdFor(idempotency) : randomUUID();
    const request: DepositRequest = { accountId, ...body };
    await startJob(client, config.temporal, res, {
      workflowType: 'deposit' satisfies keyof typeof workflows,
      workflowId: depositWorkflowId(accountId, operationId),
      args: [request],
      summary: `Deposit ${body.amount} ${body.currency} (minor units) to account ${accountId}`,
      details: 'Applies the deposit exactly once (operation key and balance change in one transaction), then records telemetry at most once.',
    });
  });

  router.get('/v1/accounts/:accountId', async (req, res) => {
    const { accountId } = parseOrThrow(accountPath, req.params, 'path');
    res.json(await accountView(accountId));
  });

  // Naturally idempotent: setting the same email twice leaves the same state, so no key is needed.
  router.put('/v1/accounts/:accountId/email', requireJson, async (req, res) => {
    const { accountId } = parseOrThrow(accountPath, req.params, 'path');
    const { email } = parseOrThrow(emailChangeRequest, req.body, 'body');
    const now = new Date().toISOString();
    await db
      .insertInto('accounts')
      .values({ account_id: accountId, email, currency: null, balance: 0, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ email, updated_at: now }))
      .execute();
    res.json(await accountView(accountId));
  });

  return router;
}
