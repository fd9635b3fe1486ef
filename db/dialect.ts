import { PostgresAdapter, type Kysely } from 'kysely';

/** For the few places that differ by dialect (an auto-incrementing key, SKIP LOCKED, NOTIFY). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const isPostgres = (db: Kysely<any>) => db.getExecutor().adapter instanceof PostgresAdapter;
