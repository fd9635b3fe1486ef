/**
 * The order activities on real databases (SQLite and PostgreSQL): reservations race safely for
 * the last units, and a compensation voids a step that had not applied, so a late attempt of that
 * step can never apply after the order was compensated.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createAccountActivities } from '../../activities/accounts';
import { createOrderActivities, OUT_OF_STOCK } from '../../activities/orders';
import { openDatabase, type Database } from '../../db/database';
import { asTemporalLogger } from '../../platform/logger';
import { testLogger, uniqueTag } from '../support/env';
import { testDatabases } from '../support/databases';
import { balanceOf, openAccount, stockOf, stockSku } from '../support/shop';

describe.each(testDatabases())('%s', (_name, target) => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase(await target());
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) =>
    new MockActivityEnvironment({}, { logger: asTemporalLogger(testLogger) }).run(fn, ...args) as Promise<R>;
  const orders = () => createOrderActivities({ db });
  const accounts = () => createAccountActivities({ db });

  test('20 orders racing for 5 units: exactly 5 reservations succeed, the rest are out of stock', async () => {
    const sku = await stockSku(db, { stock: 5 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => run(orders().reserveInventory, { operationKey: `${sku}/order-${i}/reserve`, items: [{ sku, quantity: 1 }] })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as ApplicationFailure] : []));
    expect(refusals.map((r) => [r.type, r.nonRetryable])).toEqual(Array(15).fill([OUT_OF_STOCK, true]));
    expect(await stockOf(db, sku)).toBe(0);
  });

  test('a refund that runs before its charge applied voids it: the late charge is refused and moves nothing', async () => {
    const accountId = await openAccount(db, { balance: 10_000 });
    const chargeKey = `${uniqueTag('order')}/charge`;
    expect(await run(accounts().refundPayment, { operationKey: `${chargeKey}-refund`, chargeKey })).toEqual({ reverted: false });
    await expect(run(accounts().chargePayment, { operationKey: chargeKey, accountId, amount: 2_500, currency: 'USD' })).rejects.toMatchObject({
      type: 'Voided',
      nonRetryable: true,
    });
    expect(await balanceOf(db, accountId)).toBe(10_000);
  });

  test('a refund after the charge credits it back once, however often it runs', async () => {
    const accountId = await openAccount(db, { balance: 10_000 });
    const chargeKey = `${uniqueTag('order')}/charge`;
    await run(accounts().chargePayment, { operationKey: chargeKey, accountId, amount: 2_500, currency: 'USD' });
    const refunds = await Promise.all([1, 2, 3].map(() => run(accounts().refundPayment, { operationKey: `${chargeKey}-refund`, chargeKey })));
    expect(refunds).toEqual(Array(3).fill({ reverted: true }));
    expect(await balanceOf(db, accountId)).toBe(10_000);
    expect(await db.selectFrom('ledger_entries').select('amount').where('account_id', '=', accountId).execute()).toHaveLength(2);
  });
});
