import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Database } from '../db/database';
import { appendEvent } from '../db/events';
import type { Config } from '../platform/config';
import type * as workflows from '../workflows';
import {
  cancelOrderUpdate,
  carrierEventSignal,
  CustomerIdKey,
  itemCount,
  orderStatusQuery,
  orderWorkflowId,
  OrderIdKey,
  shipmentWorkflowId,
  type OrderInput,
  type OrderView,
} from '../workflows/definitions';
import { operationIdFor, type IdempotencyContext } from './idempotency';
import { readJob, startJob, withOpenJob } from './jobs';
import { HttpProblem, parseOrThrow } from './problem';
import { cancelOrderRequest, carrierEventRequest, orderPath, orderRequest } from './schemas';

const orderUrl = (orderId: string) => `/v1/orders/${encodeURIComponent(orderId)}`;

/** How long a status read waits for a worker to answer the order's query. */
const ORDER_QUERY_TIMEOUT_MS = 1_000;

/**
 * The saga pattern: an order is the workflow `order:<orderId>` (see workflows/order.ts). The API
 * starts it, reads it through its query, cancels it through an update, and passes carrier events
 * to its shipment as signals.
 */
export function ordersRouter(client: Client, config: Config, db: Database, requireJson: RequestHandler): Router {
  const { temporal } = config;
  const router = Router();

  router.post('/v1/orders', requireJson, async (req, res) => {
    const body = parseOrThrow(orderRequest, req.body, 'body');
    // With an Idempotency-Key and no orderId, the order ID derives from the key: a retried POST
    // finds the same order instead of placing a second one.
    const idempotency: IdempotencyContext | undefined = res.locals.idempotency;
    const orderId = body.orderId ?? `o-${idempotency ? operationIdFor(idempotency).slice(0, 20) : randomUUID()}`;
    const input: OrderInput = { orderId, customerId: body.customerId, items: body.items, paymentAccountId: body.paymentAccountId };
    await startJob(client, temporal, res, {
      workflowType: 'order' satisfies keyof typeof workflows,
      workflowId: orderWorkflowId(orderId),
      args: [input],
      summary: `Order ${orderId}: ${itemCount(body.items)} items for ${body.customerId}`,
      details:
        'Reserve inventory → charge payment → ship (child workflow `shipment:' + orderId + '`) → confirmation email. ' +
        'On a failure, or a cancel before pick-up (update `cancelOrder`), the completed steps are compensated in reverse order.',
      searchAttributes: [
        { key: OrderIdKey, value: orderId },
        { key: CustomerIdKey, value: body.customerId },
      ],
      statusUrl: orderUrl(orderId),
    });
  });

  router.get('/v1/orders/:orderId', async (req, res) => {
    const { orderId } = parseOrThrow(orderPath, req.params, 'path');
    const job = await readJob(client, temporal, orderWorkflowId(orderId));
    // Running: the workflow answers its query. Closed: its result is the final view.
    const view =
      job.status === 'RUNNING'
        ? await client
            .withDeadline(Date.now() + ORDER_QUERY_TIMEOUT_MS, () => client.workflow.getHandle(job.jobId).query(orderStatusQuery))
            .catch(() => {
              throw new HttpProblem(503, 'order-status-unavailable', 'No worker answered for this order', 'The order is running but no worker answered its status query in time; retry shortly.', {
                retryAfterSeconds: 1,
              });
            })
        : (job.result as OrderView | null);
    res.json({
      ...(view ?? { orderId, status: job.status }),
      workflowStatus: job.status,
      startedAt: job.startedAt,
      closedAt: job.closedAt,
      correlationId: job.correlationId,
      webUiUrl: job.webUiUrl,
    });
  });

  router.post('/v1/orders/:orderId/cancel', async (req, res) => {
    const { orderId } = parseOrThrow(orderPath, req.params, 'path');
    const { reason } = parseOrThrow(cancelOrderRequest, req.body ?? {}, 'body');
    await withOpenJob(
      client,
      temporal,
      orderWorkflowId(orderId),
      (handle) => handle.executeUpdate(cancelOrderUpdate, { args: [{ reason }] }),
      (job) => new HttpProblem(409, 'order-closed', 'The order has already ended', `Order ${orderId} is ${(job.result as OrderView | null)?.status ?? job.status}.`, { statusUrl: orderUrl(orderId) }),
    ).catch((err: unknown) => {
      // The workflow's validator said no (e.g. the parcel was picked up): its words are the reason.
      if (err instanceof WorkflowUpdateFailedError) {
        throw new HttpProblem(409, 'order-not-cancelable', 'The order can no longer be canceled', err.cause?.message ?? err.message, { statusUrl: orderUrl(orderId) });
      }
      throw err;
    });
    res.status(202).location(orderUrl(orderId)).json({ orderId, cancel: 'accepted', statusUrl: orderUrl(orderId) });
  });

  // What a carrier integration calls: each event becomes a signal to the order's shipment workflow.
  router.post('/v1/shipments/:orderId/events', requireJson, async (req, res) => {
    const { orderId } = parseOrThrow(orderPath, req.params, 'path');
    const { type } = parseOrThrow(carrierEventRequest, req.body, 'body');
    await withOpenJob(
      client,
      temporal,
      shipmentWorkflowId(orderId),
      (handle) => handle.signal(carrierEventSignal, { type }),
      (job) => new HttpProblem(409, 'shipment-closed', 'The shipment has already ended', `Shipment of order ${orderId} is ${job.status}; it takes no more events.`, { statusUrl: orderUrl(orderId) }),
    );
    if (type === 'picked_up') {
      // The shipment has accepted the event: record it in the `shipments` stream (once per
      // order) for whoever subscribes, e.g. the shipping notice.
      await db.transaction().execute((trx) =>
        appendEvent(trx, { stream: 'shipments', eventId: `shipment:${orderId}#OrderShipped`, type: 'OrderShipped', payload: { orderId }, correlationId: res.locals.correlationId }),
      );
    }
    res.status(202).location(orderUrl(orderId)).json({ orderId, event: type, statusUrl: orderUrl(orderId) });
  });

  return router;
}
