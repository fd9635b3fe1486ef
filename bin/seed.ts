/**
 * `npm run seed`: the demo SKUs and accounts (db/seed.ts) in the database DATABASE_URL names (or
 * the SQLite file in the data dir). `npm start` does this itself; a deployment runs it once, by
 * hand, if it wants the demo. Applied once per database: running it again changes nothing.
 */
import '../platform/node-version'; // first: a clear error on an unsupported Node
import fs from 'node:fs';
import { openDatabase } from '../db/database';
import { seedDemoData } from '../db/seed';
import { loadConfigOrExit } from '../platform/config';
import { exitOnStartupError } from '../platform/lifecycle';

async function main() {
  const config = loadConfigOrExit();
  if (config.database.kind === 'sqlite') fs.mkdirSync(config.dataDir, { recursive: true });
  const db = await openDatabase(config.database);
  try {
    const { appliedNow } = await seedDemoData(db);
    console.log(appliedNow ? `demo data seeded into the ${config.database.kind} database` : `demo data already present in the ${config.database.kind} database: nothing changed`);
  } finally {
    await db.destroy();
  }
}

main().catch(exitOnStartupError);
