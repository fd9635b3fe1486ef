import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { loadClientConfigProfile, type ClientConfigProfile } from '@temporalio/envconfig';
import ms from 'ms';
import { z } from 'zod';

/**
 * Every setting Conveyor reads, parsed once from the environment.
 * A bad value stops start-up with a message that names the variable.
 */

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** A human duration such as '3 days', '15m' or '2s', kept in milliseconds. */
const toMillis = (text: string, ctx: z.RefinementCtx) => {
  const millis = ms(text as ms.StringValue) as number | undefined;
  if (typeof millis !== 'number' || !Number.isFinite(millis) || millis <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a positive duration such as '3 days' or '2s', got '${text}'` });
    return z.NEVER;
  }
  return millis;
};
const duration = (fallback: string) => z.string().default(fallback).transform(toMillis);
/** A duration that may be left unset (then undefined). */
const optionalDuration = () => z.string().transform(toMillis).optional();

const HOST_PORT = /^[^\s:]+:\d+$/;
const HOST_PORT_HINT = "expected host:port, e.g. 'temporal.example.com:7233'";

const flag = (fallback: boolean) => z.enum(['true', 'false', '1', '0']).default(fallback ? 'true' : 'false').transform((v) => v === 'true' || v === '1');

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port(3000),
  CONVEYOR_DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, "expected postgres://user:password@host:5432/database (unset for SQLite in the data dir)")
    .optional(),
  /** The worker's and the relay's GET /metrics (the API serves it on PORT); unset: not served. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** 'off': the API neither counts requests nor serves /metrics, and no process metrics are collected. */
  METRICS: z.enum(['on', 'off']).default('on'),
  /** OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); unset: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // The connection (address, namespace, TLS, API key, gRPC metadata) is read by
  // @temporalio/envconfig (temporalConnection below); these entries only check the values first.
  TEMPORAL_ADDRESS: z.string().regex(HOST_PORT, HOST_PORT_HINT).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('conveyor'),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_PROFILE: z.string().min(1).optional(),
  TEMPORAL_CONFIG_FILE: z.string().min(1).optional(),
  TEMPORAL_DEV_SERVER_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_UI_URL: z.url().optional(),
  TEMPORAL_RPC_TIMEOUT: duration('3s'),
  /** Payload encryption keys, `id:base64key,...`, the first one encrypts (platform/codec.ts). */
  CONVEYOR_CODEC_KEYS: z.string().min(1).optional(),
  CONVEYOR_CODEC_KEY_FILE: z.string().min(1).optional(),

  SMTP_URL: z
    .url()
    .refine((u) => /^smtps?:\/\//.test(u), "expected an smtp:// or smtps:// URL")
    .optional(),
  MAIL_CATCHER_PORT: port(1025),
  MAIL_FROM: z.string().min(3).default('Conveyor <hello@conveyor.localhost>'),
  /** The local mail catcher keeps this many messages; older ones are deleted. */
  MAILBOX_MAX_MESSAGES: z.coerce.number().int().min(1).default(10_000),

  WELCOME_FOLLOW_UP_DELAY: duration('3 days'),
  IDEMPOTENCY_KEY_RETENTION: duration('24h'),
  OUTBOX_POLL_INTERVAL: duration('500ms'),
  OUTBOX_CLAIM_TTL: duration('30s'),
  OUTBOX_LISTEN: flag(true),
  /** The lane (docs/architecture.md, "The lane"): overrides of each lane job type's declared values. */
  LANE_PARTITIONS: z.coerce.number().int().min(1).max(64).optional(),
  LANE_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).optional(),
  LANE_RETRY_BACKOFF: optionalDuration(),
  LANE_BATCHES_PER_RUN: z.coerce.number().int().min(1).max(10_000).default(200),
  LANE_IDLE_CHECK: duration('1 minute'),
  /** JWT bearer tokens (optional): a JWKS URL turns them on, beside API keys. */
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256,EdDSA')
    .transform((v) => v.split(',').map((a) => a.trim()).filter(Boolean))
    .refine((algs) => algs.length > 0 && algs.every((a) => /^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(a)), 'only asymmetric algorithms (RS*, PS*, ES*, EdDSA): "none" and HMAC are refused'),
  AUTH_JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  AUTH_JWT_SCOPE_CLAIM: z.string().min(1).default('scope'),
  RATE_LIMIT_RPS: z.coerce.number().int().min(1).default(50),
  RATE_LIMIT_BURST: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_SUBMIT_RPS: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_SUBMIT_BURST: z.coerce.number().int().min(0).default(20),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_PUBLIC_RPS: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_PUBLIC_BURST: z.coerce.number().int().min(0).default(40),
  /**
   * Express's `trust proxy`: which peers may say who the client is (X-Forwarded-For). Off by default:
   * the socket's address is the client's, and a forged header changes nothing. A hop count, or the
   * proxies' addresses/subnets (and Express's names loopback, linklocal, uniquelocal). `true` (trust
   * any peer) is refused: then every client could choose its own address and dodge the per-address limits.
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx): false | number | string[] => {
      const value = v.trim();
      if (value === 'false' || value === '') return false;
      if (/^\d{1,2}$/.test(value)) return Number(value);
      const entries = value.split(',').map((x) => x.trim());
      const bad = entries.find((x) => !['loopback', 'linklocal', 'uniquelocal'].includes(x) && !isIP(x.replace(/\/\d{1,3}$/, '')));
      if (value === 'true' || bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${value === 'true' ? '"true" would let any client choose its address' : `"${bad}" is not an address, subnet or loopback/linklocal/uniquelocal`}: give a hop count or the proxies' addresses` });
        return z.NEVER;
      }
      return entries;
    }),
  /** Published outbox rows keep their payload (PII) this long for debugging, then it is blanked. */
  OUTBOX_PII_RETENTION: duration('7 days'),
  /** Webhooks may target loopback and private addresses (tests, a local receiver); never in production. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag(false),
  /** The waits between delivery attempts (workflow timers); one attempt more than waits. */
  WEBHOOK_RETRY_BACKOFF: z
    .string()
    .default('30s,2m,10m,30m,1h,2h,4h,8h')
    .transform((text, ctx) => {
      const waits = text.split(',').map((part) => {
        try {
          return ms(part.trim() as ms.StringValue) as number | undefined;
        } catch {
          return undefined; // ms() throws on an empty part
        }
      });
      if (waits.length > 20 || waits.some((w) => typeof w !== 'number' || !Number.isFinite(w) || w <= 0)) {
        ctx.addIssue({ code: 'custom', message: `expected up to 20 comma-separated positive durations such as '30s,2m,10m', got '${text}'` });
        return z.NEVER;
      }
      return waits as number[];
    }),
  WEBHOOK_TIMEOUT: duration('10s'),
  /** A workflow bundle built ahead of time (bundleWorkflowCode); unset bundles workflows/ at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
});

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const invalid = (line: string) => new ConfigError(`Invalid configuration:\n  ${line}`);

/**
 * Conveyor's names from before it read envconfig, still accepted: each is read as the name
 * envconfig (and the Temporal CLI) use, and start-up warns.
 */
const DEPRECATED_TEMPORAL_NAMES = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
} as const;

const isLoopback = (address: string) => /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/.test(address);

/**
 * The Temporal connection, resolved by @temporalio/envconfig as every Temporal SDK and the CLI
 * resolve it: a profile from a TOML file, then the TEMPORAL_* variables over it. Two choices of
 * Conveyor's own:
 * - A file is read only when asked for (TEMPORAL_PROFILE or TEMPORAL_CONFIG_FILE set). envconfig
 *   alone would also read the CLI's default file (~/.config/temporalio/temporal.toml), and a
 *   developer's Cloud profile there would silently point `npm start` and the tests at Cloud.
 * - No address from either source means the embedded dev server, as before; TLS or an API key
 *   without an address is refused (the dev server speaks neither).
 */
function temporalConnection(present: Record<string, string>) {
  const env = { ...present };
  const deprecated: string[] = [];
  for (const [old, current] of Object.entries(DEPRECATED_TEMPORAL_NAMES)) {
    if (env[old] === undefined) continue;
    if (env[current] !== undefined && env[current] !== env[old]) throw invalid(`${old} (deprecated) and ${current} name different files: set only ${current}`);
    env[current] = env[old];
    deprecated.push(`${old} is deprecated: use ${current} (the name the Temporal CLI and SDKs read)`);
  }
  const profileName = env.TEMPORAL_PROFILE;
  const file = env.TEMPORAL_CONFIG_FILE;
  const useFile = profileName !== undefined || file !== undefined;
  if (file !== undefined && !fs.existsSync(file)) throw invalid(`TEMPORAL_CONFIG_FILE=${JSON.stringify(file)}: no such file`);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ disableFile: !useFile, overrideEnvVars: env });
  } catch (err) {
    const source = file ? `TEMPORAL_CONFIG_FILE=${JSON.stringify(file)}` : 'the Temporal config file (~/.config/temporalio/temporal.toml)';
    throw invalid(`${profileName ? `TEMPORAL_PROFILE=${JSON.stringify(profileName)}, ` : ''}${source}: ${(err as Error).message}`);
  }
  const from = useFile && env.TEMPORAL_ADDRESS === undefined ? `the profile '${profileName ?? 'default'}'` : 'TEMPORAL_ADDRESS';
  if (profile.address !== undefined && !HOST_PORT.test(profile.address)) throw invalid(`address ${JSON.stringify(profile.address)} in ${from}: ${HOST_PORT_HINT}`);
  const tls = profile.tls ? profile.tls.disabled !== true : profile.apiKey !== undefined;
  if (profile.address === undefined && (tls || profile.apiKey !== undefined)) {
    throw invalid('a Temporal API key or TLS is set but no address (TEMPORAL_ADDRESS, or the profile\'s address): without one Conveyor runs its own dev server, which takes neither');
  }
  if (profile.apiKey !== undefined && !tls && !isLoopback(profile.address!)) {
    throw invalid(`TLS is turned off (TEMPORAL_TLS=false or the profile's tls.disabled) with an API key for ${profile.address}: the key would cross the network in clear text`);
  }
  const { tls: tlsFiles } = profile;
  if (Boolean(tlsFiles?.clientCert) !== Boolean(tlsFiles?.clientKey)) {
    throw invalid('the client certificate and its key (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or the profile\'s tls.client_cert_path and tls.client_key_path) must be set together');
  }
  return { profile, profileName: useFile ? (profileName ?? 'default') : undefined, tls, deprecated };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  // Empty strings count as unset, as they do in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      return `${name}=${JSON.stringify(present[name] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const connection = temporalConnection(present as Record<string, string>);
  if (e.AUTH_JWKS_URL && (!e.AUTH_JWT_ISSUER || !e.AUTH_JWT_AUDIENCE)) {
    throw new ConfigError('Invalid configuration:\n  AUTH_JWKS_URL needs AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE: a token is accepted only from that issuer, for this audience');
  }
  if (e.METRICS === 'off' && e.METRICS_PORT !== undefined) {
    throw new ConfigError('Invalid configuration:\n  METRICS=off and METRICS_PORT contradict each other: unset METRICS_PORT to serve no metrics');
  }
  const dataDir = path.resolve(e.CONVEYOR_DATA_DIR);
  const embedded = connection.profile.address === undefined;
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir,
    logLevel: e.LOG_LEVEL,
    metricsEnabled: e.METRICS === 'on',
    metricsPort: e.METRICS_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    database: e.DATABASE_URL
      ? ({ kind: 'postgres', url: e.DATABASE_URL } as const)
      : ({ kind: 'sqlite', file: path.join(dataDir, 'conveyor.sqlite') } as const),
    workflowBundlePath: e.WORKFLOW_BUNDLE_PATH,
    idempotencyKeyRetentionMs: e.IDEMPOTENCY_KEY_RETENTION,
    outbox: {
      pollIntervalMs: e.OUTBOX_POLL_INTERVAL,
      /** A relay that dies mid-publish holds its rows this long; then another relay republishes them. */
      claimTtlMs: e.OUTBOX_CLAIM_TTL,
      /** PostgreSQL only: wake on NOTIFY instead of waiting for the next poll. */
      listen: e.OUTBOX_LISTEN,
      /** A week: enough to debug a delivery reported after a weekend; the users table stays the system of record. */
      piiRetentionMs: e.OUTBOX_PII_RETENTION,
    },
    mailboxDir: path.join(dataDir, 'mailbox'),
    /** Express's `trust proxy` (see TRUST_PROXY): false, a hop count, or the trusted proxies. */
    trustProxy: e.TRUST_PROXY,
    temporal: {
      /** No address (neither TEMPORAL_ADDRESS nor a profile's): `npm start` runs its own dev server. */
      embedded,
      address: connection.profile.address ?? `${e.HOST}:${e.TEMPORAL_DEV_SERVER_PORT}`,
      namespace: connection.profile.namespace ?? 'default',
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      /** What envconfig resolved (API key, TLS files, gRPC metadata); platform/temporal.ts connects with it. */
      connection: connection.profile,
      /** The TOML profile in use, if a file was read (TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE). */
      profile: connection.profileName,
      /** Whether the connection uses TLS (an API key implies it unless TLS is turned off). */
      tls: connection.tls,
      /** Deprecated variable names in use, for a warning at start-up. */
      deprecated: connection.deprecated,
      devServerPort: e.TEMPORAL_DEV_SERVER_PORT,
      devServerDbFile: path.join(dataDir, 'temporal.sqlite'),
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL ?? (embedded ? `http://${e.HOST}:${e.TEMPORAL_UI_PORT}` : undefined),
      rpcTimeoutMs: e.TEMPORAL_RPC_TIMEOUT,
      /** Payload encryption; `npm start` creates the key file when no keys are configured. */
      codec: { keys: e.CONVEYOR_CODEC_KEYS, keyFile: path.resolve(e.CONVEYOR_CODEC_KEY_FILE ?? path.join(dataDir, 'codec-keys')) },
    },
    mail: {
      /** No SMTP_URL: mail goes to the local mail catcher that `npm start` runs. */
      useMailCatcher: e.SMTP_URL === undefined,
      smtpUrl: e.SMTP_URL ?? `smtp://${e.HOST}:${e.MAIL_CATCHER_PORT}`,
      mailCatcherPort: e.MAIL_CATCHER_PORT,
      from: e.MAIL_FROM,
      mailboxMaxMessages: e.MAILBOX_MAX_MESSAGES,
    },
    welcomeFollowUpDelayMs: e.WELCOME_FOLLOW_UP_DELAY,
    lane: {
      /** Changing it re-maps keys to partitions: set it before the first item, as the declaration would. */
      partitions: e.LANE_PARTITIONS,
      batchSize: e.LANE_BATCH_SIZE,
      retryBackoffMs: e.LANE_RETRY_BACKOFF,
      batchesPerRun: e.LANE_BATCHES_PER_RUN,
      idleCheckMs: e.LANE_IDLE_CHECK,
    },
    auth: {
      /** `npm start` keeps its development key here (the whole file is the key). */
      devKeyFile: path.join(dataDir, 'dev-api-key'),
      jwt: e.AUTH_JWKS_URL
        ? {
            jwksUrl: e.AUTH_JWKS_URL,
            issuer: e.AUTH_JWT_ISSUER,
            audience: e.AUTH_JWT_AUDIENCE,
            algorithms: e.AUTH_JWT_ALGORITHMS,
            tenantClaim: e.AUTH_JWT_TENANT_CLAIM,
            scopeClaim: e.AUTH_JWT_SCOPE_CLAIM,
          }
        : undefined,
    },
    rateLimits: {
      /** Per key: a sustained rate per second, plus a burst of extra requests per 10 seconds. */
      rps: e.RATE_LIMIT_RPS,
      burst: e.RATE_LIMIT_BURST,
      /** Job submissions (POST of a submit route), per key, counted on top of the above. */
      submitRps: e.RATE_LIMIT_SUBMIT_RPS,
      submitBurst: e.RATE_LIMIT_SUBMIT_BURST,
      /** Failed authentications per source address per minute. */
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
      /** The public routes (probes, the API description, metrics), per source address, per API process. */
      publicRps: e.RATE_LIMIT_PUBLIC_RPS,
      publicBurst: e.RATE_LIMIT_PUBLIC_BURST,
    },
    webhooks: { allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS, retryBackoffMs: e.WEBHOOK_RETRY_BACKOFF, timeoutMs: e.WEBHOOK_TIMEOUT },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/**
 * For entry points: parse the config or print the readable error and exit. `needsSmtpUrl`: a role
 * run alone that sends mail (the worker) must be told where; the local mail catcher runs only
 * inside `npm start`, and without one every email would be retried forever against a closed port.
 */
export function loadConfigOrExit(options: { needsSmtpUrl?: boolean } = {}): Config {
  try {
    const config = loadConfig();
    for (const warning of config.temporal.deprecated) process.stderr.write(`Warning: ${warning}\n`);
    if (options.needsSmtpUrl && config.mail.useMailCatcher) {
      throw new ConfigError(
        `Invalid configuration:\n  SMTP_URL is unset: a worker run alone sends mail only through SMTP_URL (smtp://user:pass@host:587 or smtps://…); the local mail catcher runs only inside \`npm start\` (to use the one of a running \`npm start\`: SMTP_URL=smtp://${config.host}:${config.mail.mailCatcherPort})`,
      );
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
