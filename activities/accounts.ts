import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sql } from 'kysely';
import type { Database } from '../db/database';
import { appendEvent } from '../db/events';
import { currentCorrelationId } from '../platform/correlation';
import { failpoint } from '../platform/failpoint';
import { once } from './once';

export interface DepositInput {
  /** `<workflowId>/apply`: the same for every retry of this deposit. */
  operationKey: string;
  accountId: string;
  amount: number;
  currency: string;
}

export interface DepositApplied {
  entryId: string;
  balance: number;
  /** False when a retry found the deposit already applied. */
  appliedNow: boolean;
  /** Which attempt of the activity returned this: > 1 after a retry. */
  attempt: number;
}

/** Business refusals: retrying cannot help, so they fail the deposit at once. */
export const CURRENCY_MISMATCH = 'CurrencyMismatch';
export const BALANCE_OVERFLOW = 'BalanceOverflow';

export function createAccountActivities({ db }: { db: Database }) {
  return {
    /**
     * "Add N to the balance" is not idempotent; `once` makes it so: the ledger entry, the new
     * balance and the operation key commit together.
     */
    async applyDeposit(input: DepositInput): Promise<DepositApplied> {
      const { result, appliedNow } = await once(db, input.operationKey, async (trx) => {
        const now = new Date().toISOString();
        await trx
          .insertInto('accounts')
          .values({ account_id: input.accountId, email: null, currency: input.currency, balance: 0, created_at: now, updated_at: now })
          .onConflict((oc) => oc.column('account_id').doNothing())
          .execute();
        // One atomic UPDATE (not read-then-write), so concurrent deposits to one account never
        // lose each other's change. An account created by an email change has no currency yet:
        // its first deposit sets it. Any refusal below rolls the whole transaction back.
        const account = await trx
          .updateTable('accounts')
          .set((eb) => ({
            balance: eb('balance', '+', input.amount),
            currency: sql<string>`coalesce(currency, ${input.currency})`,
            updated_at: now,
          }))
          .where('account_id', '=', input.accountId)
          .returning(['balance', 'currency'])
          .executeTakeFirstOrThrow();
        if (account.currency !== input.currency) {
          throw ApplicationFailure.nonRetryable(`account ${input.accountId} holds ${account.currency}, not ${input.currency}`, CURRENCY_MISMATCH);
        }
        const balance = Number(account.balance);
        if (!Number.isSafeInteger(balance)) {
          throw ApplicationFailure.nonRetryable(`the balance of ${input.accountId} would exceed ${Number.MAX_SAFE_INTEGER}`, BALANCE_OVERFLOW);
        }
        await trx
          .insertInto('ledger_entries')
          .values({ entry_id: input.operationKey, account_id: input.accountId, amount: input.amount, currency: input.currency, balance_after: balance, created_at: now })
          .execute();
        await appendEvent(trx, {
          stream: 'payments',
          eventId: `${input.operationKey}#DepositReceived`,
          type: 'DepositReceived',
          payload: { accountId: input.accountId, amount: input.amount, currency: input.currency, balance },
          correlationId: currentCorrelationId() ?? input.operationKey,
          causationId: input.operationKey,
        });
        return { entryId: input.operationKey, balance };
      });
      // Crash window under test: committed, but Temporal has not heard that the activity completed.
      if (appliedNow) failpoint('deposit-after-commit');
      return { ...result, appliedNow, attempt: Context.current().info.attempt };
    },

    /**
     * At-most-once telemetry: one attempt, no retry (see the workflow's options). If it fails the
     * event is lost and the workflow counts it as lost; nothing else depends on it.
     */
    async recordTelemetry(event: { name: string; payload: Record<string, unknown> }): Promise<void> {
      await db
        .insertInto('telemetry_events')
        .values({ event_id: randomUUID(), name: event.name, payload: JSON.stringify(event.payload), created_at: new Date().toISOString() })
        .execute();
    },
  };
}
