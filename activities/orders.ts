import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Database } from '../db/database';
import { appendEvent } from '../db/events';
import { once, refuseIfVoided, undoOnce } from '../db/once';
import { currentCorrelationId } from '../platform/correlation';
import { currentTenant, DEFAULT_TENANT } from '../platform/tenancy';
import type { OrderItem, OrderView } from '../workflows/order/definition';

/** Business refusals: retrying cannot help, so the order fails (and compensates) at once. */
export const OUT_OF_STOCK = 'OutOfStock';
export const UNKNOWN_SKU = 'UnknownSku';
export const MIXED_CURRENCIES = 'MixedCurrencies';

/** What the reservation stored under its key; the release reads it back to return the same stock. */
export interface Reservation {
  items: OrderItem[];
  /** Minor units, priced from the inventory at reservation time. */
  amount: number;
  currency: string;
}

export const CARRIER = 'Conveyor Express';

/** Derived from the order, so a retried booking names the same parcel. */
export const trackingNumberFor = (orderId: string) => `CE${createHash('sha256').update(orderId).digest('hex').slice(0, 10).toUpperCase()}`;

const orderEventTypes: Partial<Record<OrderView['status'], string>> = {
  RUNNING: 'OrderCreated',
  COMPLETED: 'OrderCompleted',
  CANCELED: 'OrderCancelled',
  FAILED: 'OrderFailed',
};

export function createOrderActivities({ db }: { db: Database }) {
  return {
    /**
     * Take the stock of every item, or none: each SKU by one conditional UPDATE (`stock >= quantity`),
     * so two orders racing for the last unit cannot both get it; any refusal rolls back the rest.
     */
    async reserveInventory(input: { operationKey: string; items: OrderItem[] }): Promise<Reservation> {
      const { result } = await once(db, input.operationKey, async (trx): Promise<Reservation> => {
        const now = new Date().toISOString();
        let amount = 0;
        const currencies = new Set<string>();
        for (const { sku, quantity } of input.items) {
          const taken = await trx
            .updateTable('inventory')
            .set((eb) => ({ stock: eb('stock', '-', quantity), updated_at: now }))
            .where('sku', '=', sku)
            .where('stock', '>=', quantity)
            .returning(['price', 'currency'])
            .executeTakeFirst();
          if (!taken) {
            const item = await trx.selectFrom('inventory').select('stock').where('sku', '=', sku).executeTakeFirst();
            if (!item) throw ApplicationFailure.nonRetryable(`unknown SKU ${sku}`, UNKNOWN_SKU);
            throw ApplicationFailure.nonRetryable(`out of stock: ${sku} has ${item.stock} left, the order wants ${quantity}`, OUT_OF_STOCK);
          }
          amount += Number(taken.price) * quantity;
          currencies.add(taken.currency);
        }
        if (currencies.size !== 1) throw ApplicationFailure.nonRetryable(`the items are priced in ${[...currencies].join(' and ')}`, MIXED_CURRENCIES);
        return { items: input.items, amount, currency: [...currencies][0]! };
      });
      return refuseIfVoided(result, input.operationKey);
    },

    /** Compensation of `reserveInventory`: puts the reserved stock back, once. */
    async releaseInventory(input: { operationKey: string; reserveKey: string }): Promise<{ reverted: boolean }> {
      const { result } = await undoOnce<Reservation>(db, input.operationKey, input.reserveKey, async (trx, reservation) => {
        const now = new Date().toISOString();
        for (const { sku, quantity } of reservation.items) {
          await trx.updateTable('inventory').set((eb) => ({ stock: eb('stock', '+', quantity), updated_at: now })).where('sku', '=', sku).execute();
        }
      });
      return result;
    },

    /** Book the carrier for an order's parcel, once per order. */
    async bookCarrier(input: { operationKey: string; orderId: string }): Promise<{ carrier: string; trackingNumber: string }> {
      const { result } = await once(db, input.operationKey, async (trx) => {
        const now = new Date().toISOString();
        const booking = { carrier: CARRIER, trackingNumber: trackingNumberFor(input.orderId) };
        await trx
          .insertInto('shipments')
          .values({ order_id: input.orderId, carrier: booking.carrier, tracking_number: booking.trackingNumber, status: 'booked', created_at: now, updated_at: now })
          .execute();
        return booking;
      });
      return refuseIfVoided(result, input.operationKey);
    },

    /** Compensation of `bookCarrier`: cancels the booking, once. */
    async cancelShipment(input: { operationKey: string; bookKey: string; orderId: string }): Promise<{ reverted: boolean }> {
      const { result } = await undoOnce(db, input.operationKey, input.bookKey, async (trx) => {
        await trx.updateTable('shipments').set({ status: 'canceled', updated_at: new Date().toISOString() }).where('order_id', '=', input.orderId).execute();
      });
      return result;
    },

    /** The order's row, written at its start and its end. "Set the row to this" is naturally idempotent. */
    async saveOrder(order: OrderView): Promise<void> {
      const now = new Date().toISOString();
      const row = { status: order.status, reason: order.reason, amount: order.amount, currency: order.currency, updated_at: now };
      const type = orderEventTypes[order.status];
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('orders')
          .values({ order_id: order.orderId, tenant_id: currentTenant() ?? DEFAULT_TENANT, customer_id: order.customerId, payment_account_id: order.paymentAccountId, items: JSON.stringify(order.items), created_at: now, ...row })
          .onConflict((oc) => oc.column('order_id').doUpdateSet(row))
          .execute();
        // The order's life in the `orders` stream, once per state (the event ID is the state's).
        if (type) {
          await appendEvent(trx, {
            stream: 'orders',
            eventId: `order:${order.orderId}#${type}`,
            type,
            payload: { orderId: order.orderId, customerId: order.customerId, status: order.status, reason: order.reason, amount: order.amount, currency: order.currency },
            correlationId: currentCorrelationId() ?? `order:${order.orderId}`,
          });
        }
      });
    },

    /** The parcel left with the carrier: OrderShipped in the `shipments` stream, once (its event ID is the shipment's). */
    async recordShipped(input: { eventId: string; orderId: string }): Promise<void> {
      await db.transaction().execute((trx) =>
        appendEvent(trx, { stream: 'shipments', eventId: input.eventId, type: 'OrderShipped', payload: { orderId: input.orderId }, correlationId: currentCorrelationId() ?? `order:${input.orderId}` }),
      );
    },

    /** Where a customer notice about an order goes: the payment account's email on file. */
    async orderContact({ orderId }: { orderId: string }): Promise<{ email: string | null; name: string }> {
      const row = await db
        .selectFrom('orders')
        .leftJoin('accounts', (join) => join.onRef('accounts.account_id', '=', 'orders.payment_account_id').onRef('accounts.tenant_id', '=', 'orders.tenant_id'))
        .select(['orders.customer_id', 'accounts.email'])
        .where('orders.order_id', '=', orderId)
        .executeTakeFirst();
      return { email: row?.email ?? null, name: row?.customer_id ?? 'customer' };
    },
  };
}
