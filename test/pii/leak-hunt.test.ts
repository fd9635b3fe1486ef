/**
 * Where does a person's email end up after a real run? `npm start` signs a user up (outbox →
 * relay → welcome job → two emails), then we hunt for their unique address and name in the logs,
 * in the Temporal history through the CLI, and in every file of the data dir. They may remain only
 * in the system of record (the users table), the send ledger and the caught mail itself; the published outbox
 * row loses them after OUTBOX_PII_RETENTION.
 */
import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { openDatabase } from '../../db/database';
import { appendToOutbox, claimOutboxBatch, markPublished, SCRUBBED_PAYLOAD, scrubPublishedPayloads } from '../../db/outbox';
import pino from 'pino';
import { redactionOptions } from '../../platform/log-redaction';
import { testDatabases } from '../support/databases';
import { json, postJson, waitFor } from '../support/env';
import { mainJobEnv, startMainJob } from '../support/main-job';
import { cliWorkflowShow, mentions, uniquePerson } from '../support/pii';

test.each(testDatabases())('%s: scrubPublishedPayloads blanks only rows published before the cutoff', async (_name, target) => {
  const db = await openDatabase(await target());
  try {
    const row = (userId: string) => ({ aggregateType: 'user', aggregateId: userId, eventType: 'UserSignedUp', payload: { userId, email: `${userId}@x.example` }, correlationId: 'c' });
    await db.transaction().execute(async (trx) => {
      for (const id of ['old', 'recent', 'pending']) await appendToOutbox(trx, row(id));
    });
    const claimed = await claimOutboxBatch(db, 'r1', 10, 60_000);
    await markPublished(db, claimed.find((r) => r.aggregate_id === 'old')!.seq, 'r1');
    await new Promise((r) => setTimeout(r, 20));
    const cutoff = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await markPublished(db, claimed.find((r) => r.aggregate_id === 'recent')!.seq, 'r1');

    expect(await scrubPublishedPayloads(db, cutoff)).toBe(1);
    expect(await scrubPublishedPayloads(db, cutoff)).toBe(0); // idempotent
    const payloads = Object.fromEntries((await db.selectFrom('outbox').select(['aggregate_id', 'payload']).execute()).map((r) => [r.aggregate_id, r.payload]));
    expect(payloads.old).toBe(SCRUBBED_PAYLOAD);
    expect(payloads.recent).toContain('recent@x.example'); // published, but within the retention
    expect(payloads.pending).toContain('pending@x.example'); // the relay still needs it
  } finally {
    await db.destroy();
  }
});

test('logs mask email addresses wherever they appear', () => {
  // createLogger's options, writing to a stream we read (createLogger itself writes to fd 1).
  const lines: string[] = [];
  const logger = pino({ level: 'info', ...redactionOptions() }, { write: (line: string) => void lines.push(line) });
  logger.info({ email: 'a1@leak.example', user: { to: 'a2@leak.example' }, err: new Error('550 a3@leak.example refused') }, 'sent to a4@leak.example');
  logger.warn({ err: 'smtp said a5@leak.example' }, 'retry');
  logger.error(new Error('a6@leak.example unknown'));
  logger.warn({ error: new Error('a7@leak.example') }, 'the Temporal SDK names it error');
  const out = lines.join('');
  expect(lines).toHaveLength(4);
  expect(out).toContain('sent to [email]');
  expect(out).toContain('"email":"[redacted]"');
  expect(out).not.toMatch(/@leak\.example/);
});

test('after a run, the address is only in the users table and the delivered mail', async () => {
  const person = uniquePerson();
  const main = await mainJobEnv({ WELCOME_FOLLOW_UP_DELAY: '1s', OUTBOX_PII_RETENTION: '2s', LOG_LEVEL: 'debug' });
  const job = await startMainJob(main.env);
  let jobId: string;
  try {
    const res = await postJson(`${main.api}/v1/users`, person);
    expect(res.status).toBe(201);
    jobId = (await json(res)).welcomeJob.jobId;
    await waitFor('the welcome job to complete', async () => ((await json(await fetch(`${main.api}/v1/jobs/${encodeURIComponent(jobId)}`))).status === 'COMPLETED' ? true : undefined), 60_000);
    const mail = (await json(await fetch(`${main.api}/dev/mailbox`))).messages;
    expect(mail.filter((m: { to: string }) => m.to === person.email)).toHaveLength(2); // it really went through

    // The published UserSignedUp row loses its payload once the retention has passed.
    const appDb = new SQLite(path.join(main.dataDir, 'conveyor.sqlite'), { readonly: true });
    try {
      await waitFor('the outbox row to be scrubbed', async () => {
        const row = appDb.prepare("select payload from outbox where aggregate_id = ? and event_type = 'UserSignedUp'").get(person.userId) as { payload: string };
        return row.payload === SCRUBBED_PAYLOAD ? true : undefined;
      }, 30_000);
      // Every text cell of every table: the person is in `users` (the system of record) and in
      // `sent_emails` (the send ledger's recipient; not yet scrubbed: see docs/security.md) only.
      const tables = (appDb.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((t) => t.name);
      const holding = tables.filter((table) =>
        (appDb.prepare(`select * from "${table}"`).all() as Array<Record<string, unknown>>).some((r) => JSON.stringify(r).includes(person.email) || JSON.stringify(r).includes(person.name)),
      );
      expect(holding.sort()).toEqual(['sent_emails', 'users']);
    } finally {
      appDb.close();
    }

    const history = await cliWorkflowShow(main.temporal, 'default', jobId);
    expect(history).toContain('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
    expect(mentions(history, person.email)).toBe(false);
    expect(mentions(history, person.name)).toBe(false);
  } finally {
    job.child.kill('SIGTERM');
    expect(await job.exited).toBe(0);
  }

  // The logs (this run's stdout and stderr, at debug level) and the dev server's log.
  expect(job.output()).toContain('"level":20'); // debug lines were written: the search is not over an empty log
  expect(mentions(job.output(), person.email)).toBe(false);
  expect(mentions(job.output(), person.name)).toBe(false);

  // Every file in the data dir (Temporal's SQLite file and its WAL, its log, the key file) except
  // the system of record (the app database) and the caught mail, whose job is to hold the address.
  const files = fs.readdirSync(main.dataDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !path.basename(f).startsWith('conveyor.sqlite') && !f.includes(`${path.sep}mailbox${path.sep}`));
  expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['temporal.sqlite', 'temporal.log', 'codec-keys']));
  for (const file of files) {
    const bytes = fs.readFileSync(file).toString('latin1');
    expect({ file, email: mentions(bytes, person.email), name: mentions(bytes, person.name) }).toEqual({ file, email: false, name: false });
  }
}, 180_000);
