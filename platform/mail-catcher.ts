import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on loopback for development and tests: it accepts every message and keeps
 * it as an .eml file in a folder, which GET /dev/mailbox reads back.
 */
export interface MailCatcher {
  port: number;
  close(): Promise<void>;
}

export async function startMailCatcher(options: { host: string; port: number; dir: string; maxMessages?: number }): Promise<MailCatcher> {
  fs.mkdirSync(options.dir, { recursive: true });
  // Kept oldest first; past maxMessages the oldest go, so a load test cannot fill the disk.
  const kept = fs.readdirSync(options.dir).filter((n) => n.endsWith('.eml')).sort();
  const maxMessages = options.maxMessages ?? Infinity;
  const prune = () => {
    for (const name of kept.splice(0, Math.max(0, kept.length - maxMessages))) fs.rmSync(path.join(options.dir, name), { force: true });
  };
  prune();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    banner: 'Conveyor mail catcher',
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        // Time-ordered names; write then rename so a reader never sees half a message.
        const name = `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.eml`;
        const file = path.join(options.dir, name);
        fs.promises
          .writeFile(`${file}.partial`, Buffer.concat(chunks))
          .then(() => fs.promises.rename(`${file}.partial`, file))
          .then(() => {
            kept.push(name);
            prune();
            callback();
          }, callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  // A sender that vanishes mid-transfer (a worker killed while sending: ECONNRESET) is the
  // sender's problem; unhandled, the error would take the catcher and its process down.
  server.on('error', () => undefined);
  const address = server.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface CaughtMessage {
  id: string;
  messageId: string | undefined;
  from: string | undefined;
  to: string | undefined;
  subject: string | undefined;
  date: string | undefined;
  idempotencyKey: string | undefined;
  text: string | undefined;
}

/** Files parsed at once: thousands of parallel reads ran the whole process out of descriptors. */
const READ_CONCURRENCY = 8;

/** Names of the caught messages, oldest first (their names start with the time they arrived). */
async function messageNames(dir: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every caught message, oldest first (tests; the API pages with readMailboxPage). */
export async function readMailbox(dir: string): Promise<CaughtMessage[]> {
  return readMessages(dir, await messageNames(dir));
}

/** A message ID as a page cursor: `<arrival time>-<uuid>`. */
export const MAILBOX_CURSOR = /^\d{15}-[0-9a-f-]{36}$/;

/** Up to `limit` messages, newest first, older than `before` (the previous page's nextCursor). */
export async function readMailboxPage(dir: string, { limit, before }: { limit: number; before?: string }) {
  const names = (await messageNames(dir)).reverse();
  const start = before === undefined ? 0 : names.findIndex((n) => n < `${before}.eml`);
  const page = start < 0 ? [] : names.slice(start, start + limit);
  const messages = await readMessages(dir, page);
  const more = start >= 0 && start + limit < names.length;
  return { messages, nextCursor: more ? messages[messages.length - 1]?.id : undefined };
}

async function readMessages(dir: string, names: string[]): Promise<CaughtMessage[]> {
  const messages: Array<CaughtMessage | undefined> = new Array(names.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < names.length; i = next++) messages[i] = await readMessage(dir, names[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, names.length) }, reader));
  return messages.filter((m): m is CaughtMessage => m !== undefined);
}

/** One message, or undefined when the catcher pruned it since we listed the folder. */
async function readMessage(dir: string, name: string): Promise<CaughtMessage | undefined> {
  let raw: Buffer;
  try {
    raw = await fs.promises.readFile(path.join(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const mail = await simpleParser(raw);
  const key = mail.headers.get('x-conveyor-idempotency-key');
  return {
    id: name.replace(/\.eml$/, ''),
    messageId: mail.messageId,
    from: mail.from?.text,
    to: Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(', ') : mail.to?.text,
    subject: mail.subject,
    date: mail.date?.toISOString(),
    idempotencyKey: typeof key === 'string' ? key : undefined,
    text: mail.text,
  };
}
