/** The shipment job, a child of the order (bundle-safe). */
import { defineSignal } from '@temporalio/workflow';
import type { OrderItem } from '../order/definition';

export const shipmentWorkflowId = (orderId: string) => `shipment:${orderId}`;

/** The business rule with a clock: a workflow timer, so tests skip it. */
export const PICK_UP_WINDOW = '2 days';

export const carrierEventTypes = ['picked_up', 'delivered', 'lost'] as const;
export type CarrierEventType = (typeof carrierEventTypes)[number];

/** Sent to the shipment workflow by `POST /v1/shipments/<orderId>/events`. */
export const carrierEventSignal = defineSignal<[{ type: CarrierEventType }]>('carrierEvent');

/** Sent by the shipment to its order when the parcel is picked up, which ends the cancel window. */
export const shipmentPickedUpSignal = defineSignal('shipmentPickedUp');

export interface ShipmentInput {
  orderId: string;
  items: OrderItem[];
}

/** How a shipment ended: only 'delivered' lets the order complete. */
export type ShipmentOutcome = 'delivered' | 'lost' | 'not picked up';

/** Started by its order as a child workflow, never over HTTP. */
export function shipmentStart(input: ShipmentInput) {
  return {
    workflowType: 'shipment',
    workflowId: shipmentWorkflowId(input.orderId),
    args: [input] as const,
    summary: `Shipment of order ${input.orderId}`,
    details: 'Books the carrier, then follows the parcel through carrier events (signal `carrierEvent`) until delivered or lost; gives up when not picked up in time.',
  };
}
