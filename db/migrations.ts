import type { Kysely, Migration } from 'kysely';

/**
 * Migrations in order; names sort lexically. Written with Kysely's schema builder and portable
 * types only (text, integer), so the same list serves SQLite and PostgreSQL.
 */
export const migrations: Record<string, Migration> = {
  '0001_sent_emails': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sent_emails')
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
