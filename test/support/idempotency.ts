import type { Database } from '../../db/database';
import { waitFor } from './env';

/**
 * Until the stored Idempotency-Key has expired (IDEMPOTENCY_KEY_RETENTION after its request):
 * awaited on the row itself, the same comparison the API makes, rather than a guessed sleep.
 */
export const untilKeyExpired = (db: Database, key: string, timeoutMs = 30_000) =>
  waitFor(`the Idempotency-Key ${key} to expire`, async () => {
    const row = await db.selectFrom('idempotency_keys').select('expires_at').where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    return row.expires_at <= new Date().toISOString() ? true : undefined;
  }, timeoutMs);
