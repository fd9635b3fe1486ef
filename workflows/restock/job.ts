/** The restock job type: a purchase that waits days for a delivery and then changes the stock exactly once. */
import { z } from 'zod';
import { businessId, ownedId } from '../../platform/schemas';
import { ownId } from '../../platform/tenant-ids';
import { declareJob, messageRoute, submitRoute } from '../declaration';
import { createRestockActivities } from './activities';
import { deliveredSignal, restockStart, restockWorkflowId, type RestockInput } from './definition';

const quantity = z.number().int().positive().max(100_000);

export const restockJob = declareJob<RestockInput>({
  name: 'restock',
  description: `Places a purchase order for a SKU, waits for the supplier's delivery, and adds what arrived to the stock exactly once. With an Idempotency-Key, a retried request maps to the same restock.`,
  workflowType: 'restock',
  start: restockStart,
  activities: createRestockActivities,
  submit: submitRoute({
    path: '/v1/inventory/:sku/restocks',
    params: z.object({ sku: businessId }),
    body: z.strictObject({ quantity, supplier: businessId }),
    toInput: ({ params, body, operationId }) => ({ restockId: ownId(`r-${operationId.slice(0, 20)}`), sku: params.sku, ...body }),
  }),
  messages: [
    messageRoute({
      description: 'The delivery arrived (signal `delivered`), with the units it held.',
      path: '/v1/restocks/:restockId/deliveries',
      scope: 'carrier',
      params: z.object({ restockId: ownedId }),
      body: z.strictObject({ quantity }),
      jobId: ({ restockId }) => restockWorkflowId(restockId),
      send: (handle, delivery) => handle.signal(deliveredSignal, delivery),
      closed: ({ restockId }, job) => ({
        status: 409,
        slug: 'restock-closed',
        title: 'The restock has already ended',
        detail: `Restock ${restockId} is ${job.status}; it takes no more deliveries.`,
      }),
      accepted: ({ restockId }) => ({ restockId }),
    }),
  ],
});
