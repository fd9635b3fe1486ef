import { Router } from 'express';
import { z } from 'zod';
import type { Database } from '../db/database';
import { businessId } from '../platform/schemas';
import { requireScope } from './auth';
import { HttpProblem, parseOrThrow } from './problem';

export const skuPath = z.object({ sku: businessId });

/**
 * Stock per SKU, straight from the app database (reservations change it atomically). The catalog
 * is shared: every tenant orders from the same stock, so every tenant may read it.
 */
export function inventoryRouter(db: Database): Router {
  const router = Router();
  const items = () => db.selectFrom('inventory').select(['sku', 'name', 'stock', 'price', 'currency', 'updated_at as updatedAt']);
  const shown = <T extends { price: number }>(item: T) => ({ ...item, price: Number(item.price) });

  router.get('/v1/inventory', requireScope('jobs:read'), async (_req, res) => {
    res.json({ items: (await items().orderBy('sku').execute()).map(shown) });
  });

  router.get('/v1/inventory/:sku', requireScope('jobs:read'), async (req, res) => {
    const { sku } = parseOrThrow(skuPath, req.params, 'path');
    const item = await items().where('sku', '=', sku).executeTakeFirst();
    if (!item) throw new HttpProblem(404, 'sku-not-found', 'No such SKU', `There is no SKU '${sku}'.`);
    res.json(shown(item));
  });

  return router;
}
