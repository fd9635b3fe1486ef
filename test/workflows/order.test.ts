/**
 * The order saga on the time-skipping test server with the real activities against a real SQLite
 * file (mail goes to nodemailer's JSON transport). Every branch ends in one final state, and the
 * database shows it: stock and balances are back where they were after a compensation.
 *
 * `npm run replay:record` runs this file with RECORD_ORDER_HISTORIES=1 to save the histories of
 * the main branches under test/replay/histories/, which test/replay/histories.test.ts replays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Activities } from '../../activities';
import { openDatabase, type Database } from '../../db/database';
import { workflowTestKit, type WorkflowTestKit } from '../../worker/testing';
import { cancelOrderUpdate, orderStatusQuery, type OrderInput, type OrderView } from '../../workflows/order/definition';
import { orderJob } from '../../workflows/order/job';
import type { order } from '../../workflows/order/workflow';
import { carrierEventSignal, shipmentWorkflowId, type CarrierEventType } from '../../workflows/shipment/definition';
import { tempDir, uniqueTag, waitFor } from '../support/env';
import { balanceOf as balanceOfAccount, openAccount, stockOf as stockOfSku, stockSku, untilBooked } from '../support/shop';

const PRICE = 1_250;
const STOCK = 5;
const BALANCE = 10_000;
const historiesDir = path.join(__dirname, '..', 'replay', 'histories');

let db: Database;
let kit: WorkflowTestKit;
let real: Activities;

beforeAll(async () => {
  db = await openDatabase({ kind: 'sqlite', file: path.join(tempDir('orders'), 'conveyor.sqlite') });
  kit = await workflowTestKit({ db });
  real = kit.activities as Activities;
});

afterAll(async () => {
  await kit?.teardown();
  await db?.destroy();
});

async function shop({ balance = BALANCE } = {}) {
  const sku = await stockSku(db, { stock: STOCK, price: PRICE });
  const accountId = await openAccount(db, { balance });
  const orderId = uniqueTag('o');
  const input: OrderInput = { orderId, customerId: 'c-9', items: [{ sku, quantity: 2 }], paymentAccountId: accountId };
  return { sku, accountId, orderId, input };
}

const stockOf = (sku: string) => stockOfSku(db, sku);
const balanceOf = (accountId: string) => balanceOfAccount(db, accountId);
const orderRow = (orderId: string) => db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
const shipmentRow = (orderId: string) => db.selectFrom('shipments').selectAll().where('order_id', '=', orderId).executeTakeFirst();

type OrderHandle = WorkflowHandle<typeof order>;

/** Deliver a carrier event to the shipment, retrying until the child workflow exists. */
const carrier = (orderId: string, type: CarrierEventType) =>
  waitFor(`the shipment to take ${type}`, () => kit.client.workflow.getHandle(shipmentWorkflowId(orderId)).signal(carrierEventSignal, { type }).then(() => true));

const untilOrder = (handle: OrderHandle, what: string, check: (view: OrderView) => boolean) =>
  waitFor(what, async () => ((await check(await handle.query(orderStatusQuery))) ? true : undefined));

/** Run one order to its end; `drive` plays the customer and the carrier while it runs. */
async function runOrder(input: OrderInput, { activities = real, drive, record }: { activities?: Activities; drive?: (h: OrderHandle) => Promise<void>; record?: string } = {}) {
  return kit.withWorker(async () => {
    const started = await kit.now();
    const handle = (await kit.start(orderJob, input)) as OrderHandle;
    await drive?.(handle);
    const result = await handle.result();
    const elapsedMs = (await kit.now()) - started;
    if (record && process.env.RECORD_ORDER_HISTORIES) await saveHistories(record, input.orderId, handle);
    return { result, elapsedMs };
  }, activities);
}

/** The History message as protobufjs JSON (test/replay/histories.test.ts reads it back with fromObject). */
async function saveHistories(name: string, orderId: string, handle: OrderHandle) {
  const save = (file: string, history: temporal.api.history.v1.IHistory) =>
    fs.writeFileSync(path.join(historiesDir, file), `${JSON.stringify(temporal.api.history.v1.History.fromObject(history).toJSON(), null, 1)}\n`);
  fs.mkdirSync(historiesDir, { recursive: true });
  save(`${name}.order.json`, await handle.fetchHistory());
  const child = await kit.client.workflow.getHandle(shipmentWorkflowId(orderId)).fetchHistory().catch(() => undefined);
  if (child) save(`${name}.shipment.json`, child);
}

const compensationsOf = (view: OrderView) => view.compensations.map((c) => `${c.name}: ${c.outcome}`);
const stepsOf = (view: OrderView) => view.steps.map((s) => `${s.name}: ${s.state}`);
const allUndone = ['cancel shipment: undone', 'refund payment: undone', 'release inventory: undone'];

test('happy path: reserved, charged, shipped, delivered, confirmed', async () => {
  const { sku, accountId, orderId, input } = await shop();
  const { result } = await runOrder(input, {
    record: 'completed',
    drive: async () => {
      await carrier(orderId, 'picked_up');
      await carrier(orderId, 'delivered');
    },
  });

  expect(result).toMatchObject({ status: 'COMPLETED', reason: null, amount: 2 * PRICE, currency: 'USD', pickedUp: true, compensations: [] });
  expect(stepsOf(result)).toEqual(['reserve inventory: done', 'charge payment: done', 'ship: done', 'send confirmation: done']);
  expect(result.steps.every((s) => s.startedAt && s.finishedAt && s.startedAt <= s.finishedAt)).toBe(true);
  expect(await stockOf(sku)).toBe(STOCK - 2);
  expect(await balanceOf(accountId)).toBe(BALANCE - 2 * PRICE);
  expect(await orderRow(orderId)).toMatchObject({ status: 'COMPLETED', amount: 2 * PRICE });
  expect(await shipmentRow(orderId)).toMatchObject({ status: 'booked' });
  const sent = await db.selectFrom('sent_emails').selectAll().where('idempotency_key', '=', `order:${orderId}/confirmation`).execute();
  expect(sent).toEqual([expect.objectContaining({ recipient: `${accountId}@example.com`, template: 'order-confirmation' })]);
});

test('out of stock: nothing is taken from any SKU, nothing is charged, the order fails', async () => {
  const { sku, accountId, orderId, input } = await shop();
  const other = await shop();
  // The first line can be reserved, the second cannot: the reservation takes all or nothing.
  const { result } = await runOrder({ ...input, items: [{ sku: other.sku, quantity: 1 }, { sku, quantity: STOCK + 1 }] }, { record: 'out-of-stock' });

  expect(result).toMatchObject({ status: 'FAILED', reason: expect.stringMatching(`out of stock: ${sku} has 5 left`) });
  expect(stepsOf(result)).toEqual(['reserve inventory: failed', 'charge payment: pending', 'ship: pending', 'send confirmation: pending']);
  expect(compensationsOf(result)).toEqual(['release inventory: nothing to undo']);
  expect([await stockOf(sku), await stockOf(other.sku), await balanceOf(accountId)]).toEqual([STOCK, STOCK, BALANCE]);
  expect(await orderRow(orderId)).toMatchObject({ status: 'FAILED', reason: result.reason });
});

test('insufficient funds: not retried; the reservation is released', async () => {
  const { sku, accountId, input } = await shop({ balance: 100 });
  const charges: number[] = [];
  const activities = { ...real, chargePayment: (i: Parameters<Activities['chargePayment']>[0]) => (charges.push(Context.current().info.attempt), real.chargePayment(i)) };
  const { result } = await runOrder(input, { activities, record: 'insufficient-funds' });

  expect(result).toMatchObject({ status: 'FAILED', reason: `insufficient funds: account ${accountId} holds 100 USD, the order costs 2500` });
  expect(charges).toEqual([1]);
  expect(compensationsOf(result)).toEqual(['refund payment: nothing to undo', 'release inventory: undone']);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, 100]);
});

test('the carrier loses the parcel: shipment canceled, refunded, stock released', async () => {
  const { sku, accountId, orderId, input } = await shop();
  const { result } = await runOrder(input, {
    record: 'parcel-lost',
    drive: async () => {
      await carrier(orderId, 'picked_up');
      await carrier(orderId, 'lost');
    },
  });

  expect(result).toMatchObject({ status: 'FAILED', reason: 'the carrier lost the parcel' });
  expect(stepsOf(result)).toEqual(['reserve inventory: done', 'charge payment: done', 'ship: failed', 'send confirmation: pending']);
  expect(compensationsOf(result)).toEqual(allUndone);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, BALANCE]);
  expect(await shipmentRow(orderId)).toMatchObject({ status: 'canceled' });
  const ledger = await db.selectFrom('ledger_entries').select('amount').where('account_id', '=', accountId).orderBy('created_at').execute();
  expect(ledger.map((e) => Number(e.amount))).toEqual([-2 * PRICE, 2 * PRICE]);
});

test('cancel before pick-up: accepted, every step compensated, the order CANCELED', async () => {
  const { sku, accountId, orderId, input } = await shop();
  let accepted: OrderView | undefined;
  const { result } = await runOrder(input, {
    record: 'canceled',
    drive: async (handle) => {
      await untilBooked(db, orderId);
      accepted = await handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'changed my mind' }] });
    },
  });

  expect(accepted).toMatchObject({ status: 'RUNNING', pickedUp: false });
  expect(result).toMatchObject({ status: 'CANCELED', reason: 'changed my mind' });
  expect(stepsOf(result)).toEqual(['reserve inventory: done', 'charge payment: done', 'ship: canceled', 'send confirmation: pending']);
  expect(compensationsOf(result)).toEqual(allUndone);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, BALANCE]);
  expect((await kit.client.workflow.getHandle(shipmentWorkflowId(orderId)).describe()).status.name).toBe('CANCELLED');
});

test('cancel after pick-up: rejected by the validator, and the order still completes', async () => {
  const { sku, accountId, orderId, input } = await shop();
  let rejection: unknown;
  const { result } = await runOrder(input, {
    drive: async (handle) => {
      await carrier(orderId, 'picked_up');
      await untilOrder(handle, 'the order to learn of the pick-up', (view) => view.pickedUp);
      rejection = await handle.executeUpdate(cancelOrderUpdate, { args: [{ reason: 'too late' }] }).catch((err: unknown) => err);
      await carrier(orderId, 'delivered');
    },
  });

  expect(rejection).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((rejection as WorkflowUpdateFailedError).cause?.message).toMatch('can no longer be canceled');
  expect(result).toMatchObject({ status: 'COMPLETED', compensations: [] });
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK - 2, BALANCE - 2 * PRICE]);
});

test('payment timeout: a charge not settled within 15 minutes releases the reservation', async () => {
  const { sku, accountId, input } = await shop();
  const charges: number[] = [];
  const activities = {
    ...real,
    chargePayment: async (): ReturnType<Activities['chargePayment']> => {
      charges.push(Context.current().info.attempt);
      throw new Error('payment provider unavailable');
    },
  };
  const { result, elapsedMs } = await runOrder(input, { activities, record: 'payment-timeout' });

  expect(result).toMatchObject({ status: 'FAILED', reason: 'payment not settled within 15 minutes of the reservation: the reservation expired' });
  // Retried through the window (skipped), then given up: the reservation did not outlive it.
  expect(charges.length).toBeGreaterThan(1);
  expect(elapsedMs).toBeGreaterThan(10 * 60_000);
  expect(compensationsOf(result)).toEqual(['refund payment: nothing to undo', 'release inventory: undone']);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, BALANCE]);
});

test('pick-up timeout: a parcel not picked up within 2 days cancels the shipment and compensates', async () => {
  const { sku, accountId, orderId, input } = await shop();
  const { result, elapsedMs } = await runOrder(input, { record: 'pick-up-timeout' });

  expect(result).toMatchObject({ status: 'FAILED', reason: 'the carrier did not pick the parcel up within 2 days', pickedUp: false });
  expect(elapsedMs).toBeGreaterThanOrEqual(2 * 24 * 3_600_000);
  expect(compensationsOf(result)).toEqual(allUndone);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, BALANCE]);
  expect(await shipmentRow(orderId)).toMatchObject({ status: 'canceled' });
});

test('a compensation that fails twice then succeeds still leaves everything consistent', async () => {
  const { sku, accountId, orderId, input } = await shop({ balance: 100 });
  const releases: number[] = [];
  const activities = {
    ...real,
    releaseInventory: async (i: Parameters<Activities['releaseInventory']>[0]) => {
      const { attempt } = Context.current().info;
      releases.push(attempt);
      if (attempt <= 2) throw new Error(`database unavailable (attempt ${attempt})`);
      return real.releaseInventory(i);
    },
  };
  const { result } = await runOrder(input, { activities });

  // The fault really fired: two failed attempts, the third released the stock.
  expect(releases).toEqual([1, 2, 3]);
  expect(result).toMatchObject({ status: 'FAILED', reason: expect.stringMatching('insufficient funds') });
  expect(compensationsOf(result)).toEqual(['refund payment: nothing to undo', 'release inventory: undone']);
  expect([await stockOf(sku), await balanceOf(accountId)]).toEqual([STOCK, 100]);
  expect(await orderRow(orderId)).toMatchObject({ status: 'FAILED' });
});
