/** The order job type: the saga (reserve → charge → ship → confirm, compensated in reverse). */
import { z } from 'zod';
import { businessId, ownedId, text } from '../../platform/schemas';
import { ownId } from '../../platform/tenant-ids';
import { declareJob, messageRoute, submitRoute } from '../declaration';
import { cancelOrderUpdate, orderStart, orderStatusQuery, orderWorkflowId, type OrderInput, type OrderView } from './definition';

export const orderPath = z.object({ orderId: ownedId });
export const orderUrl = (orderId: string) => `/v1/orders/${encodeURIComponent(orderId)}`;

export const orderRequest = z.strictObject({
  /** Optional: derived from the Idempotency-Key when there is one, otherwise generated. */
  orderId: ownedId.optional(),
  customerId: businessId,
  items: z
    .array(z.strictObject({ sku: businessId, quantity: z.number().int().positive().max(1_000) }))
    .min(1)
    .max(50)
    .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, 'each SKU may appear once; add up its quantity instead'),
  paymentAccountId: ownedId,
});

const cancelRequest = z.strictObject({
  reason: text(200).default('canceled by the customer'),
});

export const orderJob = declareJob<OrderInput>({
  name: 'order',
  description:
    'Reserves inventory, charges the payment account, ships (child job `shipment`) and emails a confirmation. ' +
    'A failed step, or a cancel before pick-up, compensates the steps taken in reverse; the order ends COMPLETED, CANCELED or FAILED.',
  workflowType: 'order',
  start: orderStart,
  submit: submitRoute({
    path: '/v1/orders',
    body: orderRequest,
    // A retried POST with the same Idempotency-Key finds the same order instead of placing a second one.
    toInput: ({ body, operationId }) => ({ ...body, orderId: body.orderId ?? ownId(`o-${operationId.slice(0, 20)}`) }),
  }),
  status: {
    path: '/v1/orders/:orderId',
    params: orderPath,
    jobId: ({ orderId }) => orderWorkflowId(orderId),
    url: (input) => orderUrl(input.orderId),
    query: orderStatusQuery,
    notFound: ({ orderId }) => ({ status: 404, slug: 'job-not-found', title: 'No such order', detail: `There is no order '${orderId}'.` }),
  },
  messages: [
    messageRoute({
      description: 'Cancel the order (update `cancelOrder`): accepted until the parcel is picked up; the steps taken are compensated.',
      path: '/v1/orders/:orderId/cancel',
      params: orderPath,
      body: cancelRequest,
      jobId: ({ orderId }) => orderWorkflowId(orderId),
      send: (handle, { reason }) => handle.executeUpdate(cancelOrderUpdate, { args: [{ reason }] }),
      closed: ({ orderId }, job) => ({
        status: 409,
        slug: 'order-closed',
        title: 'The order has already ended',
        detail: `Order ${orderId} is ${(job.result as OrderView | null)?.status ?? job.status}.`,
      }),
      refused: (_params, reason) => ({ status: 409, slug: 'order-not-cancelable', title: 'The order can no longer be canceled', detail: reason }),
      statusUrl: ({ orderId }) => orderUrl(orderId),
      accepted: ({ orderId }) => ({ orderId, cancel: 'accepted' }),
    }),
  ],
});
