/**
 * Personal data stays out of the logs: customers' email addresses and names. Known fields are
 * redacted by path (pino's `redact`, compiled once, cheap per line); free text (messages, error
 * messages, request paths) has email addresses replaced by a pattern. Names in free text cannot be
 * recognised by a pattern: code must not put them in messages (log IDs instead).
 */
import pino from 'pino';

const PERSONAL_FIELDS = ['email', 'to', 'recipient', 'customerName', 'userName'];

/**
 * Paths up to two levels deep (`{ input: { to } }`, `{ user: { profile: { email } } }`). A
 * top-level `name` is not in the list: pino writes the logger's own name there; nested `name`
 * fields (a user's, a customer's) are.
 */
export const REDACT_PATHS = [
  ...PERSONAL_FIELDS,
  ...[...PERSONAL_FIELDS, 'name'].flatMap((field) => [`*.${field}`, `*.*.${field}`]),
];

export const REDACTED = '[redacted]';

/** Also URL-encoded ('%40'), as in a logged request path; the local part is kept to the usual characters. */
const EMAIL_ADDRESS = /[\w.+-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+/gi;

export function redactEmails(text: string): string {
  return text.replace(EMAIL_ADDRESS, '[email]');
}

/** Options for pino: path redaction, free-text scrubbing of the message, top-level strings and errors. */
export function redactionOptions(): Pick<pino.LoggerOptions, 'redact' | 'hooks' | 'formatters' | 'serializers'> {
  const scrubError = (err: unknown) => {
    if (typeof err === 'string') return redactEmails(err); // `{ err: err.message }` is common here
    if (!(err instanceof Error)) return err;
    const out = pino.stdSerializers.err(err);
    out.message = redactEmails(out.message);
    if (out.stack) out.stack = redactEmails(out.stack);
    return out;
  };
  return {
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // The Temporal SDK's own log lines carry their error under `error`.
    serializers: { err: scrubError, error: scrubError },
    hooks: {
      logMethod(args, method) {
        // logger.error(err) takes its message from err.message: hand pino the error as `err` and a scrubbed message.
        const [first, ...rest] = args as unknown[];
        const normalised = first instanceof Error ? [{ err: first }, typeof rest[0] === 'string' ? rest[0] : first.message, ...rest.slice(1)] : args;
        method.apply(this, normalised.map((arg) => (typeof arg === 'string' ? redactEmails(arg) : arg)) as Parameters<typeof method>);
      },
    },
    formatters: {
      // Top-level strings only (a request path, an error text): deep walks would cost on every line.
      log(object) {
        for (const [key, value] of Object.entries(object)) {
          if (typeof value === 'string' && (value.includes('@') || value.includes('%40'))) object[key] = redactEmails(value);
        }
        return object;
      },
    },
  };
}
