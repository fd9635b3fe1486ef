import type { Database } from '../../db/database';
import { uniqueTag, waitFor } from './env';

/** Test fixtures for orders: a fresh SKU and a fresh USD account, so tests never share rows. */
export async function stockSku(db: Database, { stock = 5, price = 1_250 } = {}): Promise<string> {
  const sku = uniqueTag('sku');
  await db.insertInto('inventory').values({ sku, name: 'Test widget', stock, price, currency: 'USD', updated_at: new Date().toISOString() }).execute();
  return sku;
}

/** With `withEmail: false` the order's confirmation has no address and is skipped. */
export async function openAccount(db: Database, { balance = 10_000, withEmail = true } = {}): Promise<string> {
  const accountId = uniqueTag('acct');
  const now = new Date().toISOString();
  await db
    .insertInto('accounts')
    .values({ account_id: accountId, email: withEmail ? `${accountId}@example.com` : null, currency: 'USD', balance, created_at: now, updated_at: now })
    .execute();
  return accountId;
}

export const stockOf = async (db: Database, sku: string) =>
  (await db.selectFrom('inventory').select('stock').where('sku', '=', sku).executeTakeFirstOrThrow()).stock;

export const balanceOf = async (db: Database, accountId: string) =>
  Number((await db.selectFrom('accounts').select('balance').where('account_id', '=', accountId).executeTakeFirstOrThrow()).balance);

/** The booking is the shipment workflow's first step: once it is there, the shipment takes carrier events. */
export const untilBooked = (db: Database, orderId: string, timeoutMs = 30_000) =>
  waitFor('the carrier booking', async () => (await db.selectFrom('shipments').select('order_id').where('order_id', '=', orderId).executeTakeFirst()) && true, timeoutMs);
