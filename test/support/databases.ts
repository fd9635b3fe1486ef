import path from 'node:path';
import type { DatabaseTarget } from '../../db/database';
import { tempDir } from './env';

/**
 * The databases the dialect-sensitive tests run against: always a fresh SQLite file, and the
 * PostgreSQL database in TEST_DATABASE_URL (.ci/run creates one). In CI a missing PostgreSQL is an
 * error, never a silent skip.
 */
export function testDatabases(): Array<[name: string, target: () => DatabaseTarget]> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url && process.env.CI) throw new Error('TEST_DATABASE_URL is unset in CI: .ci/run must start PostgreSQL');
  const sqlite: [string, () => DatabaseTarget] = ['SQLite', () => ({ kind: 'sqlite', file: path.join(tempDir('db'), 'conveyor.sqlite') })];
  return url ? [sqlite, ['PostgreSQL', () => ({ kind: 'postgres', url })]] : [sqlite];
}

/** The config variables that select a target database (for testConfig and child processes). */
export function databaseEnv(target: DatabaseTarget): Record<string, string> {
  return target.kind === 'postgres' ? { DATABASE_URL: target.url } : { CONVEYOR_DATA_DIR: path.dirname(target.file) };
}
