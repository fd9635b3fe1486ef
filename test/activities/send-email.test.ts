/**
 * The send-email activity against a real SMTP server on loopback and a real SQLite file.
 */
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import nodemailer from 'nodemailer';
import { createEmailActivities, messageIdFor, type SendEmailInput, type SendEmailResult } from '../../activities/email';
import { openDatabase, type Database } from '../../db/database';
import { readMailbox, startMailCatcher, type MailCatcher } from '../../platform/mail-catcher';
import { freePort } from '../../platform/ports';
import { tempDir, testLogger, uniqueTag } from '../support/env';
import { asTemporalLogger } from '../../platform/logger';

const FROM = 'Conveyor <hello@conveyor.test>';
let dir: string;
let db: Database;
let catcher: MailCatcher;

beforeAll(async () => {
  dir = tempDir('activity');
  db = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'app.sqlite') });
  catcher = await startMailCatcher({ host: '127.0.0.1', port: 0, dir: path.join(dir, 'mailbox') });
});

afterAll(async () => {
  await catcher?.close();
  await db?.destroy();
});

function activitiesSendingTo(port: number) {
  const mailer = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  return createEmailActivities({ db, mailer, from: FROM });
}

const run = (attempt: number, send: (i: SendEmailInput) => Promise<SendEmailResult>, key: string) =>
  new MockActivityEnvironment({ attempt }, { logger: asTemporalLogger(testLogger) }).run(send, input(key)) as Promise<SendEmailResult>;

const input = (key: string): SendEmailInput => ({ idempotencyKey: key, to: 'ada@example.com', template: 'welcome', name: 'Ada' });
const inbox = async (key: string) => (await readMailbox(path.join(dir, 'mailbox'))).filter((m) => m.idempotencyKey === key);

test('the message arrives over SMTP with the right headers and a Message-ID derived from the key', async () => {
  const key = `welcome-email:${uniqueTag('u')}/welcome`;
  const result = await run(1, activitiesSendingTo(catcher.port).sendEmail, key);

  expect(result).toEqual({ messageId: messageIdFor(key, FROM), sentNow: true });
  const [mail, ...more] = await inbox(key);
  expect(more).toHaveLength(0);
  expect(mail).toMatchObject({
    messageId: messageIdFor(key, FROM),
    from: '"Conveyor" <hello@conveyor.test>',
    to: 'ada@example.com',
    subject: 'Welcome to Conveyor, Ada!',
    idempotencyKey: key,
  });
  expect(mail?.text).toContain('Hi Ada');
  expect(messageIdFor(key, FROM)).toMatch(/^<[0-9a-f]{32}@conveyor\.test>$/);
});

test('running the activity twice with the same key sends one message', async () => {
  const key = `welcome-email:${uniqueTag('u')}/welcome`;
  const { sendEmail } = activitiesSendingTo(catcher.port);
  const first = await run(1, sendEmail, key);
  const retry = await run(2, sendEmail, key);

  expect(first.sentNow).toBe(true);
  expect(retry).toEqual({ messageId: first.messageId, sentNow: false });
  expect(await inbox(key)).toHaveLength(1);
  const rows = await db.selectFrom('sent_emails').selectAll().where('idempotency_key', '=', key).execute();
  expect(rows).toHaveLength(1);
});

test('when SMTP refuses, nothing is recorded, so the retry really sends', async () => {
  const key = `welcome-email:${uniqueTag('u')}/welcome`;
  const closedPort = await freePort();
  await expect(run(1, activitiesSendingTo(closedPort).sendEmail, key)).rejects.toThrow(/ECONNREFUSED/);
  expect(await db.selectFrom('sent_emails').selectAll().where('idempotency_key', '=', key).execute()).toHaveLength(0);

  const retry = await run(2, activitiesSendingTo(catcher.port).sendEmail, key);
  expect(retry.sentNow).toBe(true);
  expect(await inbox(key)).toHaveLength(1);
});
