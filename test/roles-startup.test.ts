/**
 * What a deployment's roles do differently from `npm start` at start-up: a worker run alone needs
 * SMTP_URL (no mail catcher runs for it), and demo data comes from `npm run seed`, once.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { openDatabase } from '../db/database';
import { demoAccounts, demoInventory } from '../db/seed';
import { tempDir } from './support/env';

const root = path.resolve(__dirname, '..');
const run = (script: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, SMTP_URL: '', ...env }, encoding: 'utf8', timeout: 30_000 });

test('a worker started without SMTP_URL stops at once with a message naming SMTP_URL', () => {
  // TEMPORAL_ADDRESS names a closed port: the check must come before any connection attempt.
  const worker = run('bin/worker.ts', { TEMPORAL_ADDRESS: '127.0.0.1:1', CONVEYOR_DATA_DIR: tempDir('nosmtp') });
  expect(worker.status).toBe(1);
  expect(worker.stderr).toContain('SMTP_URL is unset');
});

test('`npm run seed` puts the demo SKUs and accounts in once; a second run changes nothing', async () => {
  const dataDir = tempDir('seed');
  const first = run('bin/seed.ts', { CONVEYOR_DATA_DIR: dataDir });
  expect(first.stderr).toBe('');
  expect(first.stdout).toContain('demo data seeded into the sqlite database');
  const second = run('bin/seed.ts', { CONVEYOR_DATA_DIR: dataDir });
  expect(second.stdout).toContain('demo data already present');

  const db = await openDatabase({ kind: 'sqlite', file: path.join(dataDir, 'conveyor.sqlite') });
  try {
    const skus = await db.selectFrom('inventory').select('sku').orderBy('sku').execute();
    expect(skus.map((r) => r.sku)).toEqual(demoInventory.map((i) => i.sku).sort());
    const accounts = await db.selectFrom('accounts').select(['account_id', 'balance']).orderBy('account_id').execute();
    expect(accounts.map((a) => [a.account_id, Number(a.balance)])).toEqual(demoAccounts.map((a) => [a.account_id, a.balance]).sort());
  } finally {
    await db.destroy();
  }
});
