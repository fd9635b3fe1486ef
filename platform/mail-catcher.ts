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

export async function startMailCatcher(options: { host: string; port: number; dir: string }): Promise<MailCatcher> {
  fs.mkdirSync(options.dir, { recursive: true });
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
          .then(() => callback(), callback);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  // A client that dies mid-session (a SIGKILLed worker's pooled connections) resets its socket:
  // that is the client's failure, not the catcher's, and must not crash the process it runs in.
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

/** Every caught message, oldest first. */
export async function readMailbox(dir: string): Promise<CaughtMessage[]> {
  let names: string[];
  try {
    names = (await fs.promises.readdir(dir)).filter((n) => n.endsWith('.eml')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return Promise.all(
    names.map(async (name) => {
      const mail = await simpleParser(await fs.promises.readFile(path.join(dir, name)));
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
    }),
  );
}
