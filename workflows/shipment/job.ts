/** The shipment job type: a child of the order; the carrier's events reach it over HTTP. */
import { z } from 'zod';
import { declareJob, messageRoute } from '../declaration';
import { orderPath, orderUrl } from '../order/job';
import { carrierEventSignal, carrierEventTypes, shipmentStart, shipmentWorkflowId, type ShipmentInput } from './definition';

export const shipmentJob = declareJob<ShipmentInput>({
  name: 'shipment',
  description: 'Books the carrier, then follows the parcel through the carrier\'s events until it is delivered or lost; gives up when it is not picked up in time.',
  workflowType: 'shipment',
  start: shipmentStart,
  startedBy: 'its order, as a child workflow',
  messages: [
    messageRoute({
      description: "A carrier event (signal `carrierEvent`): picked_up, delivered or lost. What a carrier integration calls.",
      path: '/v1/shipments/:orderId/events',
      scope: 'carrier',
      params: orderPath,
      body: z.strictObject({ type: z.enum(carrierEventTypes) }),
      jobId: ({ orderId }) => shipmentWorkflowId(orderId),
      send: (handle, { type }) => handle.signal(carrierEventSignal, { type }),
      closed: ({ orderId }, job) => ({
        status: 409,
        slug: 'shipment-closed',
        title: 'The shipment has already ended',
        detail: `Shipment of order ${orderId} is ${job.status}; it takes no more events.`,
      }),
      statusUrl: ({ orderId }) => orderUrl(orderId),
      accepted: ({ orderId }, { type }) => ({ orderId, event: type }),
    }),
  ],
});
