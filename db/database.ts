import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { migrations } from './migrations';
import type { DatabaseSchema } from './schema';

export type Database = Kysely<DatabaseSchema>;

/**
 * Open the app database and bring its schema up to date. Activities and routes only see the
 * Kysely instance, so another dialect (PostgreSQL) can be added here without touching them.
 */
export async function openDatabase(file: string): Promise<Database> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  // WAL lets the API and worker processes read while one writes; busy_timeout makes a writer
  // wait for the lock instead of failing at once when both write.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<DatabaseSchema>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`Database migration failed for ${file}: ${(error as Error).message}`);
  }
  return db;
}

export async function isDatabaseReachable(db: Database): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
