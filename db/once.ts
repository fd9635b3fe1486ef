import { ApplicationFailure } from '@temporalio/common';
import type { Transaction } from 'kysely';
import type { Database } from './database';
import type { DatabaseSchema } from './schema';

export interface OnceOutcome<T> {
  result: T;
  /** False when an earlier execution had already applied this operation. */
  appliedNow: boolean;
}

/** Insert the key; false when it was already there (then, on PostgreSQL, after its holder committed). */
async function claimKey(trx: Transaction<DatabaseSchema>, operationKey: string, result: unknown): Promise<boolean> {
  const claim = await trx
    .insertInto('operations')
    .values({ operation_key: operationKey, result: result === null ? null : JSON.stringify(result), created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('operation_key').doNothing())
    .executeTakeFirst();
  return Number(claim.numInsertedOrUpdatedRows ?? 0) === 1;
}

async function storedResult<T>(trx: Transaction<DatabaseSchema>, operationKey: string): Promise<T> {
  const row = await trx.selectFrom('operations').select('result').where('operation_key', '=', operationKey).executeTakeFirstOrThrow();
  return JSON.parse(row.result ?? 'null') as T;
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
    if (!(await claimKey(trx, operationKey, null))) {
      return { result: await storedResult<T>(trx, operationKey), appliedNow: false };
    }
    const result = await effect(trx);
    // An effect that returns nothing is stored as null (JSON.stringify(undefined) is no JSON at all).
    await trx.updateTable('operations').set({ result: JSON.stringify(result ?? null) }).where('operation_key', '=', operationKey).execute();
    return { result, appliedNow: true };
  });
}

/** What an undone operation's key holds when the undo got there first: the operation never applied. */
export const VOIDED = { voided: true } as const;

/**
 * A late attempt of an operation that its undo voided (see `undoOnce`) gets VOIDED back from
 * `once`: refuse it, non-retryable. Nobody waits for that attempt any more; it must not look applied.
 */
export function refuseIfVoided<T>(result: T, operationKey: string): T {
  if ((result as { voided?: unknown } | null)?.voided === true) {
    throw ApplicationFailure.nonRetryable(`operation ${operationKey} was voided by a compensation before it applied`, 'Voided');
  }
  return result;
}

/**
 * Exactly-once compensation of an operation done through `once` (`doKey`): `revert` runs at most
 * once (under `undoKey`), and only if the operation had applied, with the operation's result.
 *
 * A step whose activity timed out or was canceled may still be running somewhere and apply
 * later. So the undo first claims the operation's own key, marked VOIDED: if that claim succeeds
 * the operation had not applied and now never can (a late attempt finds the key taken); if the
 * key is already there, the operation committed and is reverted in this same transaction.
 */
export async function undoOnce<T>(
  db: Database,
  undoKey: string,
  doKey: string,
  revert: (trx: Transaction<DatabaseSchema>, done: T) => Promise<void>,
): Promise<OnceOutcome<{ reverted: boolean }>> {
  return once(db, undoKey, async (trx) => {
    if (await claimKey(trx, doKey, VOIDED)) return { reverted: false };
    await revert(trx, await storedResult<T>(trx, doKey));
    return { reverted: true };
  });
}
