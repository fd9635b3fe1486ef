import { sql, type Transaction } from 'kysely';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import type { DatabaseSchema } from './schema';

export interface LedgerEntry {
  /** The operation key that posts it: one entry per key, ever. */
  entryId: string;
  accountId: string;
  /** Minor units; negative for a debit. */
  amount: number;
  currency: string;
}

/**
 * The one ledger posting: an account's balance changes by `amount` and an entry records it, in the
 * caller's transaction. The UPDATE is conditional, checked and applied atomically (no
 * read-then-write, so concurrent postings never lose each other's change): the balance never goes
 * below zero, and the currency must match (an account opened without one, by an email change,
 * takes the first entry's). With `openAccount` a missing account is opened at 0 first.
 * Only accounts of the tenant this code runs for are touched (an activity runs for its
 * workflow's tenant), so no order or deposit can move another tenant's money.
 * Returns undefined, changing nothing, when the condition does not hold.
 */
export async function postEntry(
  trx: Transaction<DatabaseSchema>,
  entry: LedgerEntry,
  { openAccount = false } = {},
): Promise<{ balance: number; email: string | null } | undefined> {
  const now = new Date().toISOString();
  const tenant = currentTenant() ?? DEFAULT_TENANT;
  if (openAccount) {
    await trx
      .insertInto('accounts')
      .values({ account_id: entry.accountId, tenant_id: tenant, email: null, currency: entry.currency, balance: 0, created_at: now, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doNothing())
      .execute();
  }
  const account = await trx
    .updateTable('accounts')
    .set((eb) => ({ balance: eb('balance', '+', entry.amount), currency: sql<string>`coalesce(currency, ${entry.currency})`, updated_at: now }))
    .where('account_id', '=', entry.accountId)
    .where('tenant_id', '=', tenant)
    .where((eb) => eb.or([eb('currency', '=', entry.currency), eb('currency', 'is', null)]))
    .where((eb) => eb(eb('balance', '+', entry.amount), '>=', 0))
    .returning(['balance', 'email'])
    .executeTakeFirst();
  if (!account) return undefined;
  const balance = Number(account.balance);
  await trx
    .insertInto('ledger_entries')
    .values({ entry_id: entry.entryId, account_id: entry.accountId, amount: entry.amount, currency: entry.currency, balance_after: balance, created_at: now })
    .execute();
  return { balance, email: account.email };
}
