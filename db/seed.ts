import type { Database } from './database';
import { postEntry } from './ledger';
import { once } from './once';

/** What `npm start` puts in an empty database so the order saga can be tried at once (README). */
export const demoInventory = [
  { sku: 'widget', name: 'Widget', stock: 100, price: 1_250, currency: 'USD' },
  { sku: 'gadget', name: 'Gadget', stock: 25, price: 3_000, currency: 'USD' },
  { sku: 'gizmo', name: 'Gizmo (last one)', stock: 1, price: 9_900, currency: 'USD' },
];

export const demoAccounts = [
  { account_id: 'acct-demo', email: 'demo@example.com', balance: 100_000 },
  { account_id: 'acct-low', email: 'low@example.com', balance: 1_000 },
];

const SEED_KEY = 'seed:demo/v1';

/**
 * Applied once per database (an operation key, like any other exactly-once effect): a second
 * start changes nothing, so stock sold and money spent in the demo stay as they are. Rows that
 * already exist under the same SKU or account ID are left alone.
 */
export async function seedDemoData(db: Database): Promise<{ appliedNow: boolean }> {
  const { appliedNow } = await once(db, SEED_KEY, async (trx) => {
    const now = new Date().toISOString();
    await trx
      .insertInto('inventory')
      .values(demoInventory.map((item) => ({ ...item, updated_at: now })))
      .onConflict((oc) => oc.column('sku').doNothing())
      .execute();
    for (const account of demoAccounts) {
      const opened = await trx
        .insertInto('accounts')
        .values({ account_id: account.account_id, email: account.email, currency: 'USD', balance: 0, created_at: now, updated_at: now })
        .onConflict((oc) => oc.column('account_id').doNothing())
        .executeTakeFirst();
      // The opening balance is a ledger entry like any other: balance = sum of the ledger.
      if (Number(opened.numInsertedOrUpdatedRows ?? 0) === 1) {
        await postEntry(trx, { entryId: `${SEED_KEY}/${account.account_id}`, accountId: account.account_id, amount: account.balance, currency: 'USD' });
      }
    }
    return null;
  });
  return { appliedNow };
}
