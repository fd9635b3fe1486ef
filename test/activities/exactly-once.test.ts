/**
 * The exactly-once helper and the deposit activity on real databases (SQLite and PostgreSQL):
 * repeats apply once, racing executions apply once, concurrent different deposits lose nothing.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { BALANCE_OVERFLOW, createAccountActivities, CURRENCY_MISMATCH, type DepositApplied, type DepositInput } from '../../activities/accounts';
import { once } from '../../db/once';
import { openDatabase, type Database } from '../../db/database';
import { asTemporalLogger } from '../../platform/logger';
import { testLogger, uniqueTag } from '../support/env';
import { testDatabases } from '../support/databases';

describe.each(testDatabases())('%s', (_name, target) => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase(await target());
  });
  afterAll(async () => {
    await db?.destroy();
  });

  const deposit = (input: DepositInput, attempt = 1) =>
    new MockActivityEnvironment({ attempt }, { logger: asTemporalLogger(testLogger) }).run(
      createAccountActivities({ db }).applyDeposit,
      input,
    ) as Promise<DepositApplied>;

  const account = async (accountId: string) => {
    const row = await db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst();
    const entries = await db.selectFrom('ledger_entries').selectAll().where('account_id', '=', accountId).execute();
    return { balance: row ? Number(row.balance) : undefined, entries };
  };

  test('once(): a repeated key returns the first result and runs the effect once', async () => {
    const key = uniqueTag('op');
    let runs = 0;
    const effect = async () => ({ run: ++runs });
    const first = await once(db, key, effect);
    const second = await once(db, key, effect);
    expect(first).toEqual({ result: { run: 1 }, appliedNow: true });
    expect(second).toEqual({ result: { run: 1 }, appliedNow: false });
    expect(runs).toBe(1);
  });

  test('once(): an effect that returns nothing is recorded too', async () => {
    const key = uniqueTag('op');
    let runs = 0;
    const effect = async () => void runs++;
    expect(await once(db, key, effect)).toEqual({ result: undefined, appliedNow: true });
    expect(await once(db, key, effect)).toEqual({ result: null, appliedNow: false });
    expect(runs).toBe(1);
  });

  test('once(): an effect that throws records nothing, so a retry applies it', async () => {
    const key = uniqueTag('op');
    await expect(once(db, key, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await once(db, key, async () => 'applied')).toEqual({ result: 'applied', appliedNow: true });
  });

  test('a deposit retried after it committed changes the balance once (the article\'s $50)', async () => {
    const accountId = uniqueTag('acct');
    const input = { operationKey: `deposit:${accountId}:1/apply`, accountId, amount: 5_000, currency: 'USD' };
    const first = await deposit(input, 1);
    const retry = await deposit(input, 2);
    expect(first).toMatchObject({ balance: 5_000, appliedNow: true, attempt: 1 });
    expect(retry).toMatchObject({ balance: 5_000, appliedNow: false, attempt: 2, entryId: first.entryId });
    const { balance, entries } = await account(accountId);
    expect(balance).toBe(5_000);
    expect(entries).toHaveLength(1);
  });

  test('20 racing executions of one operation apply it once', async () => {
    const accountId = uniqueTag('acct');
    const input = { operationKey: `deposit:${accountId}:race/apply`, accountId, amount: 700, currency: 'EUR' };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => deposit(input, i + 1)));
    expect(results.filter((r) => r.appliedNow)).toHaveLength(1);
    expect(new Set(results.map((r) => r.balance))).toEqual(new Set([700]));
    const { balance, entries } = await account(accountId);
    expect(balance).toBe(700);
    expect(entries).toHaveLength(1);
  });

  test('50 concurrent different deposits to one account all count: balance = sum of the ledger', async () => {
    const accountId = uniqueTag('acct');
    const amounts = Array.from({ length: 50 }, (_, i) => i + 1);
    await Promise.all(amounts.map((amount, i) => deposit({ operationKey: `deposit:${accountId}:${i}/apply`, accountId, amount, currency: 'EUR' })));
    const { balance, entries } = await account(accountId);
    const total = amounts.reduce((a, b) => a + b, 0);
    expect(balance).toBe(total);
    expect(entries).toHaveLength(50);
    expect(entries.reduce((sum, e) => sum + Number(e.amount), 0)).toBe(total);
    expect(Math.max(...entries.map((e) => Number(e.balance_after)))).toBe(total);
  });

  test('a deposit in another currency is refused without retry and changes nothing', async () => {
    const accountId = uniqueTag('acct');
    await deposit({ operationKey: `${accountId}/a`, accountId, amount: 100, currency: 'EUR' });
    const refused = deposit({ operationKey: `${accountId}/b`, accountId, amount: 100, currency: 'USD' });
    await expect(refused).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(refused).rejects.toMatchObject({ type: CURRENCY_MISMATCH, nonRetryable: true });
    const { balance, entries } = await account(accountId);
    expect(balance).toBe(100);
    expect(entries).toHaveLength(1);
    // The refused operation left no key behind: it could be applied later (e.g. after a fix).
    expect(await db.selectFrom('operations').select('operation_key').where('operation_key', '=', `${accountId}/b`).execute()).toHaveLength(0);
  });

  test('a deposit that would push the balance past 2^53 - 1 is refused', async () => {
    const accountId = uniqueTag('acct');
    await deposit({ operationKey: `${accountId}/max`, accountId, amount: Number.MAX_SAFE_INTEGER, currency: 'EUR' });
    await expect(deposit({ operationKey: `${accountId}/one-more`, accountId, amount: 1, currency: 'EUR' })).rejects.toMatchObject({
      type: BALANCE_OVERFLOW,
      nonRetryable: true,
    });
    expect((await account(accountId)).balance).toBe(Number.MAX_SAFE_INTEGER);
  });
});
