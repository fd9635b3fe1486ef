/**
 * Logs carry no email addresses or names: fields that hold them are censored by key (pino's
 * `redact`), and any email address that slips into a message or an error (an SMTP server quoting
 * the recipient it refused) is masked by pattern.
 */
import pino from 'pino';

const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
export const maskEmails = (text: string) => text.replace(EMAIL, '[email]');

/** Keys that hold a person's data wherever they appear (top level or one level down). */
const PII_KEYS = ['email', 'to', 'recipient', 'customerName', 'userName'];

export const redactOptions: Pick<pino.LoggerOptions, 'redact' | 'hooks' | 'serializers'> = {
  redact: { paths: PII_KEYS.flatMap((k) => [k, `*.${k}`]), censor: '[redacted]' },
  hooks: {
    // The message and any string arguments: masked before pino formats them.
    logMethod(args, method) {
      // logger.error(err) takes its message from err.message: give it a masked one.
      const [first, ...rest] = args as unknown[];
      const normalised = first instanceof Error ? [{ err: first }, typeof rest[0] === 'string' ? rest[0] : first.message, ...rest.slice(1)] : args;
      method.apply(this, normalised.map((a) => (typeof a === 'string' ? maskEmails(a) : a)) as Parameters<pino.LogFn>);
    },
  },
  serializers: {
    err: serializeError,
    // The Temporal SDK's own log lines carry their error under `error`.
    error: serializeError,
  },
};

function serializeError(err: unknown): unknown {
  // Some callers log `err: error.message`, a plain string.
  if (typeof err === 'string') return maskEmails(err);
  if (!(err instanceof Error)) return err;
  const serialized = pino.stdSerializers.err(err);
  return { ...serialized, message: maskEmails(serialized.message ?? ''), stack: maskEmails(serialized.stack ?? '') };
}
