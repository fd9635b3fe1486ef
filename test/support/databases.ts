import path from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../../db/database';
import { tempDir, uniqueTag } from './env';

/**
 * The databases the dialect-sensitive tests run against: always a fresh SQLite file, and
 * PostgreSQL when TEST_DATABASE_URL names a database whose role may create databases (.ci/run sets
 * one up). Each PostgreSQL target is a fresh database, so test files never see each other's rows
 * (an outbox relay reads the whole table). In CI a missing PostgreSQL is an error, never a silent skip.
 */
export function testDatabases(): Array<[name: string, target: () => Promise<DatabaseTarget>]> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url && process.env.CI) throw new Error('TEST_DATABASE_URL is unset in CI: .ci/run must start PostgreSQL');
  const sqlite = async (): Promise<DatabaseTarget> => ({ kind: 'sqlite', file: path.join(tempDir('db'), 'conveyor.sqlite') });
  const postgres = async (): Promise<DatabaseTarget> => {
    const name = uniqueTag('conveyor_test').replace(/-/g, '_');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const fresh = new URL(url!);
    fresh.pathname = `/${name}`;
    return { kind: 'postgres', url: fresh.toString() };
  };
  return url ? [['SQLite', sqlite], ['PostgreSQL', postgres]] : [['SQLite', sqlite]];
}

/** The config variables that select a target database (a deployment's env, and its child processes). */
export function databaseEnv(target: DatabaseTarget): Record<string, string> {
  return target.kind === 'postgres' ? { DATABASE_URL: target.url } : { CONVEYOR_DATA_DIR: path.dirname(target.file) };
}
