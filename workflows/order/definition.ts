/** The order job, as callers and the workflow share it (bundle-safe). The saga pattern. */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { CustomerIdKey, OrderIdKey } from '../../platform/temporal-keys';

export const orderWorkflowId = (orderId: string) => `order:${orderId}`;

/** The business rule with a clock: a workflow timer, so tests skip it. */
export const PAYMENT_WINDOW = '15 minutes';

export interface OrderItem {
  sku: string;
  quantity: number;
}

/** How many units an order holds, as the summary and the steps say it ("3 items"). */
export const itemCount = (items: OrderItem[]) => items.reduce((sum, item) => sum + item.quantity, 0);

export interface OrderInput {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  paymentAccountId: string;
}

/** Running states while the saga works, then exactly one of the three final ones. */
export type OrderStatus = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'CANCELED' | 'FAILED';

export type StepName = 'reserve inventory' | 'charge payment' | 'ship' | 'send confirmation';
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed' | 'canceled';
export type CompensationName = 'cancel shipment' | 'refund payment' | 'release inventory';

export interface StepView {
  name: StepName;
  state: StepState;
  startedAt: string | null;
  finishedAt: string | null;
  /** What happened, in a few words ("reserved 3 items for 7500 USD", "out of stock: gadget"). */
  detail: string | null;
}

export interface CompensationView {
  name: CompensationName;
  /** 'nothing to undo' when the step had not taken effect (it failed, or never ran to completion). */
  outcome: 'undone' | 'nothing to undo';
  finishedAt: string;
}

/** What `GET /v1/orders/<id>` shows: the `orderStatus` query while running, the result once closed. */
export interface OrderView {
  orderId: string;
  customerId: string;
  paymentAccountId: string;
  items: OrderItem[];
  status: OrderStatus;
  /** Why the order was canceled or failed; null otherwise. */
  reason: string | null;
  /** Minor units, known once the inventory is reserved (prices come from the inventory). */
  amount: number | null;
  currency: string | null;
  /** True once the carrier picked the parcel up: from then on the order cannot be canceled. */
  pickedUp: boolean;
  steps: StepView[];
  /** The compensations that ran, in the order they ran (the reverse of the steps). */
  compensations: CompensationView[];
}

export const orderStatusQuery = defineQuery<OrderView>('orderStatus');

/** Accepted until the parcel is picked up; the validator rejects it after (and once the order is closing). */
export const cancelOrderUpdate = defineUpdate<OrderView, [{ reason: string }]>('cancelOrder');

export function orderStart(input: OrderInput) {
  return {
    workflowType: 'order',
    workflowId: orderWorkflowId(input.orderId),
    args: [input] as const,
    summary: `Order ${input.orderId}: ${itemCount(input.items)} items for ${input.customerId}`,
    details:
      'Reserve inventory → charge payment → ship (child workflow `shipment:' + input.orderId + '`) → confirmation email. ' +
      'On a failure, or a cancel before pick-up (update `cancelOrder`), the completed steps are compensated in reverse order.',
    searchAttributes: [
      { key: OrderIdKey, value: input.orderId },
      { key: CustomerIdKey, value: input.customerId },
    ],
  };
}
