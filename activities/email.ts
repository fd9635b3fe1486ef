import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Database } from '../db/database';
import { emailDuplicatesSuppressed, emailsSent } from '../platform/metrics';
import { clientIdOf } from '../platform/tenant-ids';

export type EmailTemplate = 'welcome' | 'getting-started' | 'order-confirmation' | 'shipping-notice';

export interface SendEmailInput {
  /** Stable across retries: `<workflowId>/<step>`. */
  idempotencyKey: string;
  to: string;
  template: EmailTemplate;
  name: string;
  /** For order emails ('order-confirmation', 'shipping-notice'): the order. */
  orderId?: string;
}

export interface SendEmailResult {
  messageId: string;
  /** False when an earlier attempt had already sent this email. */
  sentNow: boolean;
}

export interface EmailDeps {
  db: Database;
  mailer: Transporter;
  from: string;
}

function render({ template, name, orderId: internalOrderId }: SendEmailInput): { subject: string; text: string } {
  // The customer knows the order by the ID their shop chose, not by its tenant-qualified internal one.
  const orderId = internalOrderId === undefined ? undefined : clientIdOf(internalOrderId);
  switch (template) {
    case 'welcome':
      return {
        subject: `Welcome to Conveyor, ${name}!`,
        text: `Hi ${name},\n\nyour account is ready. We are glad you are here.\n\n— The Conveyor team\n`,
      };
    case 'getting-started':
      return {
        subject: `Getting started with Conveyor`,
        text:
          `Hi ${name},\n\nthree things to try in your first week:\n` +
          `  1. Enqueue a job with POST /v1/welcome-emails and watch it in the Temporal Web UI.\n` +
          `  2. Poll its status URL until it completes.\n` +
          `  3. Read docs/architecture.md to see how the pieces fit.\n\n— The Conveyor team\n`,
      };
    case 'order-confirmation':
      return {
        subject: `Your order ${orderId} has been delivered`,
        text: `Hi ${name},\n\nyour order ${orderId} has been delivered. Thank you for shopping with us.\n\n— The Conveyor team\n`,
      };
    case 'shipping-notice':
      return {
        subject: `Your order ${orderId} is on its way`,
        text: `Hi ${name},\n\nyour order ${orderId} has been picked up by the carrier.\n\n— The Conveyor team\n`,
      };
  }
}

/** The same key always yields the same Message-ID, so even a re-sent copy is recognisably one message. */
export function messageIdFor(idempotencyKey: string, from: string): string {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? 'conveyor.localhost';
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@${domain}>`;
}

export function createEmailActivities({ db, mailer, from }: EmailDeps) {
  return {
    /**
     * Idempotent send: the sent_emails row records each key, and a retry that finds it sends nothing.
     * The remaining window: a crash after the SMTP server accepted the message and before the row is
     * written makes the retry send again (same Message-ID). SMTP has no transaction we could join,
     * so that gap cannot be closed from here; it is milliseconds wide.
     */
    async sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
      const messageId = messageIdFor(input.idempotencyKey, from);
      const already = await db
        .selectFrom('sent_emails')
        .select('message_id')
        .where('idempotency_key', '=', input.idempotencyKey)
        .executeTakeFirst();
      if (already) emailDuplicatesSuppressed.inc({ template: input.template });
      if (already) return { messageId: already.message_id, sentNow: false };

      const { subject, text } = render(input);
      await mailer.sendMail({
        from,
        to: input.to,
        subject,
        text,
        messageId,
        headers: { 'X-Conveyor-Idempotency-Key': input.idempotencyKey },
      });
      await db
        .insertInto('sent_emails')
        .values({
          idempotency_key: input.idempotencyKey,
          message_id: messageId,
          recipient: input.to,
          template: input.template,
          sent_at: new Date().toISOString(),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute();
      emailsSent.inc({ template: input.template });
      return { messageId, sentNow: true };
    },
  };
}
