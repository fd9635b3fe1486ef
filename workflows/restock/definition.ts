/** The restock job, as callers and the workflow share it (bundle-safe): buy stock, wait for it, shelve it once. */
import { defineSignal } from '@temporalio/workflow';

export const restockWorkflowId = (restockId: string) => `restock:${restockId}`;

/** The supplier's promise, as a workflow timer (tests skip it). */
export const DELIVERY_WINDOW = '14 days';

export interface RestockInput {
  restockId: string;
  sku: string;
  quantity: number;
  supplier: string;
}

export interface RestockResult {
  purchaseOrder: string;
  outcome: 'received' | 'not delivered';
  /** Units put on the shelf (what the delivery held, which may differ from what was ordered). */
  received: number;
  /** The SKU's stock after the delivery was shelved; null when nothing arrived. */
  stock: number | null;
}

/** The goods arrived (`POST /v1/restocks/<id>/deliveries`), with how many units came. */
export const deliveredSignal = defineSignal<[{ quantity: number }]>('delivered');

export function restockStart(input: RestockInput) {
  return {
    workflowType: 'restock',
    workflowId: restockWorkflowId(input.restockId),
    args: [input] as const,
    summary: `Restock ${input.quantity} × ${input.sku} from ${input.supplier}`,
    details: `Places a purchase order, waits up to ${DELIVERY_WINDOW} for the delivery (signal \`delivered\`), then adds what arrived to the stock, once.`,
  };
}
