import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Database } from '../db/database';
import { appendEvent } from '../db/events';
import { postEntry } from '../db/ledger';
import { once, refuseIfVoided, undoOnce } from '../db/once';
import type { Transaction } from 'kysely';
import type { DatabaseSchema } from '../db/schema';
import { currentCorrelationId } from '../platform/correlation';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import { failpoint } from '../platform/failpoint';

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
export const INSUFFICIENT_FUNDS = 'InsufficientFunds';
export const PAYMENT_REFUSED = 'PaymentRefused';
/** A deposit into an account ID another tenant holds (the API answers 404 before it gets here; this is the backstop). */
export const ACCOUNT_NOT_OWNED = 'AccountNotOwned';

export interface ChargeInput {
  /** `<workflowId>/charge`. */
  operationKey: string;
  accountId: string;
  amount: number;
  currency: string;
}

/** What the charge stored under its key; the refund reads it back to credit the same amount. */
export interface PaymentCharged {
  entryId: string;
  accountId: string;
  amount: number;
  currency: string;
  balance: number;
  /** The account's email on file (PUT /v1/accounts/<id>/email), for the confirmation; null if none. */
  email: string | null;
}

/** The account if it belongs to the tenant this activity runs for (its workflow's): another tenant's is "no such account". */
const ownAccount = (trx: Transaction<DatabaseSchema>, accountId: string) =>
  trx.selectFrom('accounts').where('account_id', '=', accountId).where('tenant_id', '=', currentTenant() ?? DEFAULT_TENANT);

export function createAccountActivities({ db }: { db: Database }) {
  return {
    /**
     * "Add N to the balance" is not idempotent; `once` makes it so: the ledger entry, the new
     * balance and the operation key commit together.
     */
    async applyDeposit(input: DepositInput): Promise<DepositApplied> {
      const { result, appliedNow } = await once(db, input.operationKey, async (trx) => {
        // Any refusal below rolls the whole transaction back, the operation key included.
        const posted = await postEntry(trx, { entryId: input.operationKey, accountId: input.accountId, amount: input.amount, currency: input.currency }, { openAccount: true });
        if (!posted) {
          const account = await ownAccount(trx, input.accountId).select('currency').executeTakeFirst();
          if (!account) throw ApplicationFailure.nonRetryable(`account ${input.accountId} belongs to another tenant`, ACCOUNT_NOT_OWNED);
          throw ApplicationFailure.nonRetryable(`account ${input.accountId} holds ${account.currency}, not ${input.currency}`, CURRENCY_MISMATCH);
        }
        const { balance } = posted;
        if (!Number.isSafeInteger(balance)) {
          throw ApplicationFailure.nonRetryable(`the balance of ${input.accountId} would exceed ${Number.MAX_SAFE_INTEGER}`, BALANCE_OVERFLOW);
        }
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
     * Charge an order: a ledger debit, exactly once per operation key. Too little money (or no
     * such account, or another currency) is a business refusal: not retried, nothing recorded.
     */
    async chargePayment(input: ChargeInput): Promise<PaymentCharged & { appliedNow: boolean }> {
      const { result, appliedNow } = await once(db, input.operationKey, async (trx): Promise<PaymentCharged> => {
        const debited = await postEntry(trx, { entryId: input.operationKey, accountId: input.accountId, amount: -input.amount, currency: input.currency });
        if (!debited) {
          const account = await ownAccount(trx, input.accountId).select(['balance', 'currency']).executeTakeFirst();
          if (account?.currency === input.currency) {
            throw ApplicationFailure.nonRetryable(`insufficient funds: account ${input.accountId} holds ${account.balance} ${input.currency}, the order costs ${input.amount}`, INSUFFICIENT_FUNDS);
          }
          throw ApplicationFailure.nonRetryable(account ? `account ${input.accountId} holds ${account.currency}, not ${input.currency}` : `there is no account ${input.accountId}`, PAYMENT_REFUSED);
        }
        await appendEvent(trx, {
          stream: 'payments',
          eventId: `${input.operationKey}#PaymentProcessed`,
          type: 'PaymentProcessed',
          payload: { accountId: input.accountId, amount: input.amount, currency: input.currency },
          correlationId: currentCorrelationId() ?? input.operationKey,
          causationId: input.operationKey,
        });
        return { entryId: input.operationKey, accountId: input.accountId, amount: input.amount, currency: input.currency, ...debited };
      });
      // A late attempt after the order was compensated: the refund voided this charge first.
      refuseIfVoided(result, input.operationKey);
      // Crash window under test: charged, but Temporal has not heard that the activity completed.
      if (appliedNow) failpoint('order-charge-after-commit');
      return { ...result, appliedNow };
    },

    /** Compensation of `chargePayment`: credits the charged amount back, once; voids a charge that never applied. */
    async refundPayment(input: { operationKey: string; chargeKey: string }): Promise<{ reverted: boolean }> {
      const { result } = await undoOnce<PaymentCharged>(db, input.operationKey, input.chargeKey, async (trx, charge) => {
        const credited = await postEntry(trx, { entryId: input.operationKey, accountId: charge.accountId, amount: charge.amount, currency: charge.currency });
        if (!credited) throw new Error(`account ${charge.accountId} cannot take the refund of ${charge.entryId}`);
      });
      return result;
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
