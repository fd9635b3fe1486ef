import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import { email, ownedId } from '../platform/schemas';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { requireScope } from './auth';
import { requireJson } from './hygiene';
import { HttpProblem, parseOrThrow } from './problem';

export const accountPath = z.object({ accountId: ownedId });
export const emailChangeRequest = z.strictObject({ email });

const notFound = (accountId: string) => new HttpProblem(404, 'account-not-found', 'No such account', `There is no account '${accountId}'.`);
const tenantOf = () => currentTenant() ?? DEFAULT_TENANT;

/**
 * Mounted before every /v1/accounts/<id>/… route (the deposit job's included): another tenant's
 * account is "no such account", whatever the route would do with it.
 */
export function accountOwnership(db: Database): RequestHandler {
  const router = Router();
  router.use('/v1/accounts/:accountId', async (req, _res, next) => {
    const parsed = accountPath.safeParse(req.params);
    if (!parsed.success) return next(); // the route itself answers the malformed ID
    const owner = await db.selectFrom('accounts').select('tenant_id').where('account_id', '=', parsed.data.accountId).executeTakeFirst();
    next(owner && owner.tenant_id !== tenantOf() ? notFound(parsed.data.accountId) : undefined);
  });
  return router;
}

/**
 * Accounts and their ledger. The article's two examples, for real: "add $50 to the balance" is the
 * deposit job (workflows/deposit/, exactly-once by an operation key); "set user.email to X" is
 * naturally idempotent and needs no job.
 */
export function accountsRouter(db: Database): Router {
  const router = Router();

  async function accountView(accountId: string) {
    const account = await db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).where('tenant_id', '=', tenantOf()).executeTakeFirst();
    if (!account) throw notFound(accountId);
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

  router.get('/v1/accounts/:accountId', requireScope('jobs:read'), async (req, res) => {
    const { accountId } = parseOrThrow(accountPath, req.params, 'path');
    res.json(await accountView(accountId));
  });

  // Naturally idempotent: setting the same email twice leaves the same state, so no key is needed.
  router.put('/v1/accounts/:accountId/email', requireScope('jobs:submit'), requireJson, async (req, res) => {
    const { accountId } = parseOrThrow(accountPath, req.params, 'path');
    const { email } = parseOrThrow(emailChangeRequest, req.body, 'body');
    const now = new Date().toISOString();
    await db
      .insertInto('accounts')
      .values({ account_id: accountId, tenant_id: tenantOf(), email, currency: null, balance: 0, created_at: now, updated_at: now })
      // Another tenant's account is refused by accountOwnership; the WHERE holds even if one raced it into existence.
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ email, updated_at: now }).where('accounts.tenant_id', '=', tenantOf()))
      .execute();
    res.json(await accountView(accountId));
  });

  return router;
}
