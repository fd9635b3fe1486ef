/**
 * GET /dev/mailbox: pages newest first, reads with bounded concurrency (a few hundred file
 * descriptors are enough whatever the mailbox holds), and the catcher keeps at most
 * MAILBOX_MAX_MESSAGES.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { readMailbox, startMailCatcher } from '../../platform/mail-catcher';
import { startTestDeployment, type TestDeployment } from '../support/deployment';
import { json, tempDir } from '../support/env';

const root = path.resolve(__dirname, '..', '..');
const eml = (i: number) => `From: a@conveyor.localhost\r\nTo: b${i}@example.com\r\nSubject: mail ${i}\r\nMessage-ID: <m${i}@x>\r\n\r\nbody ${i}\r\n`;
/** Caught-mail files as the catcher names them, mail i arriving at time 1000 + i. */
function fillMailbox(dir: string, count: number): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `${String(1000 + i).padStart(15, '0')}-${String(i).padStart(8, '0')}-0000-4000-8000-000000000000.eml`), eml(i));
}

describe('the API', () => {
  let d: TestDeployment;
  beforeAll(async () => {
    d = await startTestDeployment({ mail: true });
    fillMailbox(d.mailboxDir, 7);
  });
  afterAll(() => d?.stop());

  test('pages newest first; following nextCursor visits every message once', async () => {
    const seen: string[] = [];
    let url = `${d.url}/dev/mailbox?limit=3`;
    for (let pages = 0; pages < 10; pages++) {
      const page = await json(await fetch(url));
      seen.push(...page.messages.map((m: { subject: string }) => m.subject));
      if (!page.nextCursor) break;
      url = `${d.url}/dev/mailbox?limit=3&cursor=${page.nextCursor}`;
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `mail ${i}`));
    expect((await json(await fetch(`${d.url}/dev/mailbox`))).messages).toHaveLength(7); // default limit 50
  });

  test('a bad limit or cursor is a 400 naming it', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=x', 'cursor=../../etc/passwd', 'other=1']) {
      const res = await fetch(`${d.url}/dev/mailbox?${query}`);
      expect(res.status).toBe(400); // the API's rule for query parameters
      expect(res.headers.get('content-type')).toMatch(/problem\+json/);
      expect((await json(res)).errors[0].pointer).toBe(query.split('=')[0]);
    }
  });
});

test('the catcher keeps only the newest maxMessages', async () => {
  const dir = path.join(tempDir('mailcap'), 'mailbox');
  fillMailbox(dir, 4); // already over the cap at start: pruned at once
  const catcher = await startMailCatcher({ host: '127.0.0.1', port: 0, dir, maxMessages: 3 });
  try {
    expect((await readMailbox(dir)).map((m) => m.subject)).toEqual(['mail 1', 'mail 2', 'mail 3']);
    const mailer = nodemailer.createTransport({ host: '127.0.0.1', port: catcher.port, secure: false, ignoreTLS: true });
    for (const i of [100, 101]) await mailer.sendMail({ from: 'a@conveyor.localhost', to: 'c@example.com', subject: `mail ${i}`, text: 'x' });
    mailer.close();
    expect((await readMailbox(dir)).map((m) => m.subject)).toEqual(['mail 3', 'mail 100', 'mail 101']);
  } finally {
    await catcher.close();
  }
});

test('reading a big mailbox needs few file descriptors (a child process limited to 200 reads 400 mails, twice at once)', async () => {
  const dir = path.join(tempDir('mailfd'), 'mailbox');
  fillMailbox(dir, 400);
  const script = `const { readMailbox } = require('${path.join(root, 'platform/mail-catcher')}');
    Promise.all([readMailbox(process.argv[1]), readMailbox(process.argv[1])]).then((r) => console.log(r[0].length + r[1].length));`;
  const { stdout } = await promisify(execFile)('sh', ['-c', `ulimit -n 200 && exec "${process.execPath}" --import tsx -e "$0" "$1"`, script, dir], { cwd: root });
  expect(stdout.trim()).toBe('800');
}, 60_000);
