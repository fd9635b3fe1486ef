import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Dialect } from 'kysely';
import pg from 'pg';
import { tracingDbPlugins } from '../platform/tracing';
import { migrations } from './migrations';
import type { DatabaseSchema } from './schema';

export type Database = Kysely<DatabaseSchema>;

/** SQLite file (the default) or PostgreSQL (DATABASE_URL=postgres://…). */
export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

const INT8_OID = 20;

export function dialectFor(target: DatabaseTarget): Dialect {
  if (target.kind === 'postgres') {
    return new PostgresDialect({
      pool: new pg.Pool({
        connectionString: target.url,
        max: 10,
        // bigint columns hold minor units, kept within Number.MAX_SAFE_INTEGER by the ledger.
        types: { getTypeParser: ((oid: number, format?: string) => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
      }),
    });
  }
  fs.mkdirSync(path.dirname(target.file), { recursive: true });
  const sqlite = new SQLite(target.file);
  // WAL lets the API and worker processes read while one writes; busy_timeout makes a writer
  // wait for the lock instead of failing at once when both write.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  cacheStatements(sqlite, 500);
  return new SqliteDialect({ database: sqlite });
}

/**
 * Kysely prepares every query anew, and compiling SQL was the largest single cost of a lane
 * enqueue (profiled: ~15% of the API's CPU). A hot path runs the same few SQL texts, so the last
 * `size` compiled statements are kept. Reuse is safe: Kysely runs one query at a time on its one
 * SQLite connection, and SQLite re-prepares a statement itself after a schema change.
 */
function cacheStatements(sqlite: SQLite.Database, size: number): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const cache = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement) cache.delete(source); // re-inserted below: the Map's order is least recently used first
    else statement = prepare(source);
    cache.set(source, statement);
    if (cache.size > size) cache.delete(cache.keys().next().value!);
    return statement;
  }) as typeof sqlite.prepare;
}

/**
 * Open the app database and bring its schema up to date. Activities and routes only see the
 * Kysely instance; which dialect is behind it is decided here alone.
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  const db = new Kysely<DatabaseSchema>({ dialect: dialectFor(target), plugins: tracingDbPlugins(target.kind === 'postgres' ? 'postgresql' : 'sqlite') });
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  for (let attempt = 1; ; attempt++) {
    const { error } = await migrator.migrateToLatest();
    if (!error) return db;
    // Kysely locks migrations on PostgreSQL but not on SQLite: when the API and the worker open a
    // new SQLite file at the same moment, one of them fails; once the other is done it finds
    // nothing left to do.
    if (target.kind === 'sqlite' && attempt < 10) {
      await sleep(100 * attempt);
      continue;
    }
    await db.destroy();
    const where = target.kind === 'sqlite' ? target.file : 'DATABASE_URL';
    throw new Error(`Database migration failed for ${where}: ${(error as Error).message}`);
  }
}

export async function isDatabaseReachable(db: Database): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
