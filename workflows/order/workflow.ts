import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TemporalFailure,
  TimeoutFailure,
  workflowInfo,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { Compensations } from '../saga';
import { shipmentPickedUpSignal, shipmentStart, PICK_UP_WINDOW } from '../shipment/definition';
import { shipment } from '../shipment/workflow';
import { trackSteps } from '../steps';
import {
  cancelOrderUpdate,
  itemCount,
  orderStatusQuery,
  PAYMENT_WINDOW,
  type CompensationName,
  type OrderInput,
  type OrderView,
  type StepName,
} from './definition';

// Every step and every compensation is exactly-once or idempotent (keyed by `<workflowId>/<step>`),
// so each is retried until it succeeds; only a business refusal (non-retryable) fails a step.
const retry: RetryPolicy = { initialInterval: '1 second', maximumInterval: '1 minute' };
const { reserveInventory, saveOrder, sendEmail, releaseInventory, refundPayment, cancelShipment } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry,
});
// The reservation holds stock for PAYMENT_WINDOW: a charge not settled by then gives up, and the
// reservation is released by the compensation.
const { chargePayment } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds', scheduleToCloseTimeout: PAYMENT_WINDOW, retry });

const now = () => new Date().toISOString();

/**
 * An order, as a saga: reserve inventory → charge the customer → ship (a child workflow) → send the
 * confirmation. If a step fails, or the customer cancels before the parcel is picked up, the steps
 * already taken are compensated in reverse order (cancel shipment, refund, release inventory), and
 * the order ends COMPLETED, CANCELED or FAILED: never half-done.
 */
export async function order(input: OrderInput): Promise<OrderView> {
  const { workflowId, typedSearchAttributes } = workflowInfo();
  const view: OrderView = {
    orderId: input.orderId,
    customerId: input.customerId,
    paymentAccountId: input.paymentAccountId,
    items: input.items,
    status: 'RUNNING',
    reason: null,
    amount: null,
    currency: null,
    pickedUp: false,
    steps: (['reserve inventory', 'charge payment', 'ship', 'send confirmation'] as const).map((name) => ({
      name,
      state: 'pending',
      startedAt: null,
      finishedAt: null,
      detail: null,
    })),
    compensations: [],
  };
  const saga = new CancellationScope();
  let cancelReason: string | undefined;
  const compensations = new Compensations<CompensationName>();

  setHandler(orderStatusQuery, () => view);
  trackSteps('recording the order', { stepOf: () => view.steps.find((s) => s.state === 'running')?.name ?? view.status.toLowerCase() });
  setHandler(shipmentPickedUpSignal, () => void (view.pickedUp = true));
  setHandler(
    cancelOrderUpdate,
    ({ reason }) => {
      cancelReason = reason;
      saga.cancel();
      return view;
    },
    {
      validator: (_request: { reason: string }) => {
        if (view.status !== 'RUNNING') throw new Error(`the order is already ${view.status.toLowerCase()}`);
        if (view.pickedUp) throw new Error('the carrier has picked the parcel up; the order can no longer be canceled');
      },
      description: 'Cancel the order and compensate; accepted until the parcel is picked up.',
    },
  );

  /** Run one step, keeping its state and times in the view and the Web UI's current details. */
  async function step<T>(name: StepName, doing: string, run: () => Promise<T>, done: (result: T) => string): Promise<T> {
    const shown = view.steps.find((s) => s.name === name)!;
    Object.assign(shown, { state: 'running', startedAt: now() });
    setCurrentDetails(`**Step:** ${doing}`);
    try {
      const result = await run();
      Object.assign(shown, { state: 'done', finishedAt: now(), detail: done(result) });
      return result;
    } catch (err) {
      const canceled = cancelReason !== undefined;
      Object.assign(shown, { state: canceled ? 'canceled' : 'failed', finishedAt: now(), detail: canceled ? 'canceled' : failureReason(err) });
      throw err;
    }
  }

  // The steps and their undos. Each is exactly-once by its operation key (`<workflowId>/<step>`).
  const reserveKey = `${workflowId}/reserve`;
  const reserve = () =>
    step(
      'reserve inventory',
      'reserving inventory…',
      () => reserveInventory.executeWithOptions({ summary: 'Reserve inventory' }, [{ operationKey: reserveKey, items: input.items }]),
      (r) => `reserved ${itemCount(r.items)} items for ${r.amount} ${r.currency}`,
    );
  const release = () => releaseInventory.executeWithOptions({ summary: 'Compensate: release inventory' }, [{ operationKey: `${workflowId}/release`, reserveKey }]);

  const chargeKey = `${workflowId}/charge`;
  const charge = ({ amount, currency }: { amount: number; currency: string }) =>
    step(
      'charge payment',
      `charging ${amount} ${currency} to account ${input.paymentAccountId}…`,
      () =>
        chargePayment
          .executeWithOptions({ summary: 'Charge payment' }, [{ operationKey: chargeKey, accountId: input.paymentAccountId, amount, currency }])
          .catch((err: unknown) => {
            // The server stops retrying when the next attempt would end past the window.
            if (err instanceof ActivityFailure && (err.retryState === 'TIMEOUT' || err.cause instanceof TimeoutFailure)) {
              throw ApplicationFailure.nonRetryable(`payment not settled within ${PAYMENT_WINDOW} of the reservation: the reservation expired`, 'PaymentWindowExpired');
            }
            throw err;
          }),
      (c) => `charged ${c.amount} ${c.currency}; balance ${c.balance}`,
    );
  const refund = () => refundPayment.executeWithOptions({ summary: 'Compensate: refund payment' }, [{ operationKey: `${workflowId}/refund`, chargeKey }]);

  const child = shipmentStart({ orderId: input.orderId, items: input.items });
  const ship = () =>
    step(
      'ship',
      'shipping: waiting for the carrier…',
      async () => {
        // The child carries the order's search attributes, so `OrderId="…"` finds both.
        const outcome = await executeChild(shipment, { workflowId: child.workflowId, args: child.args, typedSearchAttributes, staticSummary: child.summary });
        if (outcome === 'lost') throw ApplicationFailure.nonRetryable('the carrier lost the parcel', 'ParcelLost');
        if (outcome === 'not picked up') throw ApplicationFailure.nonRetryable(`the carrier did not pick the parcel up within ${PICK_UP_WINDOW}`, 'NotPickedUp');
        return outcome;
      },
      () => 'delivered',
    );
  const cancelTheShipment = () =>
    cancelShipment.executeWithOptions({ summary: 'Compensate: cancel shipment' }, [
      { operationKey: `${workflowId}/cancel-shipment`, bookKey: `${child.workflowId}/book`, orderId: input.orderId },
    ]);

  const confirm = (email: string | null) =>
    step(
      'send confirmation',
      'sending the confirmation email…',
      async () =>
        email
          ? sendEmail.executeWithOptions({ summary: 'Send order confirmation' }, [
              { idempotencyKey: `${workflowId}/confirmation`, to: email, template: 'order-confirmation', name: input.customerId, orderId: input.orderId },
            ])
          : undefined,
      (sent) => (sent ? `sent to the payment account's email` : `no email on file for account ${input.paymentAccountId}: nothing sent`),
    );

  try {
    await saga.run(async () => {
      await saveOrder.executeWithOptions({ summary: 'Record the order' }, [view]);
      const reservation = await compensations.step('release inventory', release, reserve);
      Object.assign(view, { amount: reservation.amount, currency: reservation.currency });
      const charged = await compensations.step('refund payment', refund, () => charge(reservation));
      await compensations.step('cancel shipment', cancelTheShipment, ship);
      await confirm(charged.email);
    });
    view.status = 'COMPLETED';
  } catch (err) {
    // Only Temporal failures (a refused step, a timeout, the cancellation) are business outcomes;
    // anything else is a bug here, which fails the workflow task so that a fix can replay it.
    if (!(err instanceof TemporalFailure)) throw err;
    view.reason = cancelReason ?? failureReason(err);
    view.status = 'COMPENSATING';
    await compensations.compensate(
      (name) => setCurrentDetails(`**Compensating:** ${name}… (${view.reason})`),
      ({ name, reverted }) => view.compensations.push({ name, outcome: reverted ? 'undone' : 'nothing to undo', finishedAt: now() }),
    );
    view.status = cancelReason !== undefined ? 'CANCELED' : 'FAILED';
  }

  await saveOrder.executeWithOptions({ summary: 'Record the outcome' }, [view]);
  setCurrentDetails(`**${view.status}**${view.reason ? `: ${view.reason}` : ''}`);
  return view;
}

/** The business reason a person needs: the innermost failure's message ("insufficient funds: …"). */
function failureReason(err: unknown): string {
  let deepest = err as Error;
  while (deepest.cause instanceof Error) deepest = deepest.cause;
  return deepest.message;
}
