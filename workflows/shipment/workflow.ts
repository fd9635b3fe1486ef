import { condition, getExternalWorkflowHandle, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { trackSteps } from '../steps';
import { carrierEventSignal, PICK_UP_WINDOW, shipmentPickedUpSignal, type ShipmentInput, type ShipmentOutcome } from './definition';

// Booking is exactly-once (keyed by `<workflowId>/book`) and the OrderShipped event is appended
// once (its event ID is the shipment's), so both are retried until they succeed.
const { bookCarrier, recordShipped } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/**
 * A child of the order: book the carrier, then follow the parcel through the carrier's events
 * (signals) until it is delivered or lost, or give up when it is not picked up in time.
 * Canceling this workflow (the order was canceled) stops it where it waits; the order then
 * cancels the booking as part of its compensation.
 */
export async function shipment(input: ShipmentInput): Promise<ShipmentOutcome> {
  const { workflowId, parent } = workflowInfo();
  const enterStep = trackSteps('booking the carrier');
  let pickedUp = false;
  let ended: 'delivered' | 'lost' | undefined;
  setHandler(
    carrierEventSignal,
    ({ type }) => {
      if (type === 'picked_up' || type === 'delivered') pickedUp = true;
      if (type === 'delivered' || type === 'lost') ended ??= type;
    },
    { description: 'A carrier event: picked_up, delivered or lost.' },
  );

  const booking = await bookCarrier.executeWithOptions({ summary: `Book the carrier for order ${input.orderId}` }, [
    { operationKey: `${workflowId}/book`, orderId: input.orderId },
  ]);

  enterStep(`waiting for ${booking.carrier} to pick up parcel ${booking.trackingNumber}`);
  const inTime = await condition(() => pickedUp || ended !== undefined, PICK_UP_WINDOW, { summary: `Wait up to ${PICK_UP_WINDOW} for pick-up` });
  if (!inTime) {
    enterStep(`done: not picked up within ${PICK_UP_WINDOW}`);
    return 'not picked up';
  }
  // From now on the order may no longer be canceled: tell it.
  if (pickedUp && parent) await getExternalWorkflowHandle(parent.workflowId).signal(shipmentPickedUpSignal);
  // OrderShipped goes into the `shipments` stream from here, under the order's correlation ID
  // (shipments started before this change had the carrier's HTTP request write it).
  if (pickedUp && patched('shipment-records-shipped')) {
    await recordShipped.executeWithOptions({ summary: 'Record OrderShipped' }, [{ eventId: `${workflowId}#OrderShipped`, orderId: input.orderId }]);
  }

  enterStep(`parcel ${booking.trackingNumber} in transit`);
  await condition(() => ended !== undefined);
  enterStep(`done: ${ended}`);
  return ended!;
}
