import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from '../../activities';
import { once } from '../../db/once';
import { UNKNOWN_SKU } from '../../activities/orders';

/** The restock job's own side effects, each exactly once per operation key. */
export function createRestockActivities({ db }: ActivityDeps) {
  return {
    /** Record the purchase order (its number is derived from the key, so a retry names the same one). */
    async placePurchaseOrder(input: { operationKey: string; sku: string; quantity: number; supplier: string }): Promise<{ purchaseOrder: string }> {
      const { result } = await once(db, input.operationKey, async (trx) => {
        const item = await trx.selectFrom('inventory').select('sku').where('sku', '=', input.sku).executeTakeFirst();
        if (!item) throw ApplicationFailure.nonRetryable(`unknown SKU ${input.sku}`, UNKNOWN_SKU);
        return { purchaseOrder: `PO-${createHash('sha256').update(input.operationKey).digest('hex').slice(0, 8).toUpperCase()}` };
      });
      return result;
    },

    /** Add the delivered units to the stock: one atomic UPDATE, applied once however often it is retried. */
    async shelveDelivery(input: { operationKey: string; sku: string; quantity: number }): Promise<{ stock: number }> {
      const { result } = await once(db, input.operationKey, async (trx) => {
        const row = await trx
          .updateTable('inventory')
          .set((eb) => ({ stock: eb('stock', '+', input.quantity), updated_at: new Date().toISOString() }))
          .where('sku', '=', input.sku)
          .returning('stock')
          .executeTakeFirstOrThrow();
        return { stock: Number(row.stock) };
      });
      return result;
    },
  };
}

export type RestockActivities = ReturnType<typeof createRestockActivities>;
