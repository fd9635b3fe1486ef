import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { trackSteps } from '../steps';
import type { RestockActivities } from './activities';
import { DELIVERY_WINDOW, deliveredSignal, type RestockInput, type RestockResult } from './definition';

// Both steps are exactly-once (keyed by `<workflowId>/<step>`), so they are retried until they succeed.
const { placePurchaseOrder, shelveDelivery } = proxyActivities<RestockActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

/** Restock a SKU: order from the supplier, wait for the goods, put what arrived on the shelf. */
export async function restock(input: RestockInput): Promise<RestockResult> {
  const { workflowId } = workflowInfo();
  const enterStep = trackSteps('placing the purchase order');
  let delivered: { quantity: number } | undefined;
  setHandler(deliveredSignal, (delivery) => void (delivered ??= delivery), { description: 'The goods arrived; a second delivery notice is ignored.' });

  const { purchaseOrder } = await placePurchaseOrder({ operationKey: `${workflowId}/order`, sku: input.sku, quantity: input.quantity, supplier: input.supplier });

  enterStep(`waiting up to ${DELIVERY_WINDOW} for ${purchaseOrder}`);
  if (!(await condition(() => delivered !== undefined, DELIVERY_WINDOW))) {
    enterStep(`done: ${purchaseOrder} not delivered within ${DELIVERY_WINDOW}`);
    return { purchaseOrder, outcome: 'not delivered', received: 0, stock: null };
  }

  enterStep(`shelving ${delivered!.quantity} × ${input.sku}`);
  const { stock } = await shelveDelivery({ operationKey: `${workflowId}/shelve`, sku: input.sku, quantity: delivered!.quantity });
  enterStep('done');
  return { purchaseOrder, outcome: 'received', received: delivered!.quantity, stock };
}
