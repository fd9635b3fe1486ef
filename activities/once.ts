import type { Transaction } from 'kysely';
import type { Database } from '../db/database';
import type { DatabaseSchema } from '../db/schema';

export interface OnceOutcome<T> {
  result: T;
  /** False when an earlier execution had already applied this operation. */
  appliedNow: boolean;
}

/**
 * Exactly-once effect for a non-idempotent change: the operation key is recorded and the effect
 * applied in one database transaction, so either both commit or neither. A repeat with the same
 * key (a retried activity, a redelivered message) returns the first result and changes nothing.
 *
 * The key is claimed by INSERT first, not checked then acted on: when two executions race, the
 * unique key makes the second wait for the first's transaction and then find the key taken.
 */
export async function once<T>(
  db: Database,
  operationKey: string,
  effect: (trx: Transaction<DatabaseSchema>) => Promise<T>,
): Promise<OnceOutcome<T>> {
  return db.transaction().execute(async (trx) => {
    const claim = await trx
      .insertInto('operations')
      .values({ operation_key: operationKey, result: null, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column('operation_key').doNothing())
      .executeTakeFirst();
    if (Number(claim.numInsertedOrUpdatedRows ?? 0) === 0) {
      const done = await trx
        .selectFrom('operations')
        .select('result')
        .where('operation_key', '=', operationKey)
        .executeTakeFirstOrThrow();
      return { result: JSON.parse(done.result ?? 'null') as T, appliedNow: false };
    }
    const result = await effect(trx);
    await trx.updateTable('operations').set({ result: JSON.stringify(result) }).where('operation_key', '=', operationKey).execute();
    return { result, appliedNow: true };
  });
}
