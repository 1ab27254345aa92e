// One configuration object, read from the environment and validated at start.
// Every default is safe for a laptop: loopback addresses, local sinks, no secrets.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { electronicFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import { z } from 'zod';
import type { RateTables } from '../domain/rates';
import { loadRateTables } from './rate-tables';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
/**
 * Cached workflow runs per worker (~0.3 MB each). An invoice sleeps for days between steps,
 * so a large cache mostly holds sleepers; a miss costs one replay of a short history. 250
 * keeps a workflows worker near 250 MB and changed nothing measurable in the month-end burst
 * against 1,000 (docs/benchmarks.md). deploy/entrypoint.sh repeats it for the heap cap.
 */
export const DEFAULT_WORKFLOW_CACHE_SIZE = 250;
/** The task-queue groups a worker process can poll (WORKER_ROLES). */
export const WORKER_ROLE_NAMES = ['workflows', 'email', 'sms', 'letter', 'agency'] as const;
export type WorkerRole = (typeof WORKER_ROLE_NAMES)[number];
/**
 * The payload key used when PAYLOAD_CODEC_KEYS is unset: public (it is in this file), so
 * it only keeps payloads unreadable to whoever lacks the source; `npm start` writes a random
 * one to DATA_DIR instead, and a production start without PAYLOAD_CODEC_KEYS logs a warning.
 */
export const LOCAL_DEV_CODEC_KEY_ID = 'local-dev';
const LOCAL_DEV_CODEC_KEY = Buffer.from('relance-local-development-key-00', 'utf8');

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const rate = (fallback: number) => z.coerce.number().positive().max(10_000).default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** npm start's console: auto (short pretty lines on a terminal, JSON otherwise), json or pretty. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  DATA_DIR: z.string().default('.data'),

  // Temporal: without TEMPORAL_ADDRESS the launcher starts a local dev server.
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PORT: port(7233),
  TEMPORAL_UI_PORT: port(8233),
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_TLS_CERT: optionalString,
  TEMPORAL_TLS_KEY: optionalString,
  TEMPORAL_TLS_CA: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_CLI_PATH: optionalString,
  TEMPORAL_TEST_SERVER_PATH: optionalString,

  // Database: without DATABASE_URL an embedded PGlite is served on DB_PORT.
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DB_PORT: port(54329),

  HOST: z.string().default('127.0.0.1'),
  API_PORT: port(3000),
  PUBLIC_BASE_URL: optionalString.pipe(z.string().url().optional()),
  API_BODY_LIMIT: z.string().default('1mb'),
  /** Largest CSV accepted by POST /v1/invoices/import and POST /v1/imports (bytes or '20mb'). */
  API_IMPORT_LIMIT: z.string().default('20mb'),
  /** Most rows POST /v1/invoices/import issues while the client waits; larger files go to POST /v1/imports. */
  IMPORT_SYNC_MAX_ROWS: z.coerce.number().int().min(1).default(500),
  /** Rows of one import (synchronous or job) issued at the same time. */
  IMPORT_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** How long an API process holds an import job without renewing it; a crashed process's job is taken over after it. */
  IMPORT_JOB_LEASE_MS: z.coerce.number().int().min(500).default(30_000),
  /** Deadline of one API call to Temporal (start, signal, update, query), ms: past it → 503. */
  /** How long a valid API key is remembered by an API process (a revocation elsewhere takes up to this long); 0: look up every request. */
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  /** Where `npm run relance -- policies …` sends its requests (default: the local API), and with which key. */
  RELANCE_API_URL: optionalString,
  RELANCE_API_KEY: optionalString,
  API_TEMPORAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  /** How often the API re-creates invoice rows missing behind running workflows (0: never). */
  API_RECONCILE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(300),
  /**
   * Retention of personal data beyond the accounting record (docs/operations.md): rendered
   * message bodies and SMTP transcripts of closed invoices, and the text and attachments of
   * inbound messages, are cleared this many days after they were sent or received (0: never).
   */
  RETENTION_BODIES_DAYS: z.coerce.number().int().min(0).max(3_650).default(365),
  /**
   * Closed invoice workflows' histories (encrypted payloads) are deleted from Temporal this many
   * days after they closed; unset: the namespace's own retention period decides alone.
   */
  RETENTION_HISTORIES_DAYS: z.coerce.number().int().min(0).max(3_650).optional(),
  /** How often each API process runs the retention job, minutes (0: never; POST /v1/retention/run runs it on demand). */
  RETENTION_INTERVAL_MINUTES: z.coerce.number().int().min(0).default(1_440),
  /** Graceful shutdown: how long in-flight requests may take before connections are closed. */
  API_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** Accepted age of a webhook's timestamp, seconds (generic and Stripe). */
  WEBHOOK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),

  // Email: the embedded start runs a local SMTP sink with a web inbox.
  SMTP_HOST: z.string().default('127.0.0.1'),
  SMTP_PORT: port(2525),
  SMTP_SECURE: bool(false),
  SMTP_USER: optionalString,
  SMTP_PASSWORD: optionalString,
  INBOX_PORT: port(8025),
  /**
   * npm start only: the worker sends its mail to this SMTP server (with SMTP_SECURE, SMTP_USER,
   * SMTP_PASSWORD) instead of the local sink; the sink still listens on SMTP_PORT with its inbox,
   * and everything else stays embedded. Unset: the sink gets the mail.
   */
  SMTP_RELAY_HOST: optionalString,
  /** Port of SMTP_RELAY_HOST (default 25). */
  SMTP_RELAY_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  MAIL_FROM: z.string().default('Relance <relance@example.test>'),
  MAIL_REPLY_TO: z.string().default('comptabilite@example.test'),

  // Inbound mail (inbound/): replies and bounces come back to per-message VERP addresses
  // reply+<token>@INBOUND_DOMAIN (Reply-To) and bounce+<token>@INBOUND_DOMAIN (Return-Path).
  /** Domain of the per-message Reply-To and Return-Path; its MX must reach the inbound SMTP receiver or a provider posting to /v1/webhooks/inbound-mail. Unset: replies go to MAIL_REPLY_TO and nothing is matched by token. */
  INBOUND_DOMAIN: optionalString.pipe(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/i, 'must be a domain name such as reply.example.com').optional()),
  /** Port of the inbound SMTP receiver the launcher starts (npm start); 0: not started. */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2526),
  /** Largest inbound message accepted (SMTP SIZE and the webhook's body limit), bytes. */
  INBOUND_MAX_BYTES: z.coerce.number().int().min(1024).max(50 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Keys the tag of reply/bounce tokens, so a guessed token matches nothing. */
  INBOUND_TOKEN_SECRET: z.string().min(16).default('local-inbound-token-secret-change-me'),
  /** JSON object { "<source>": "<secret>" } for POST /v1/webhooks/inbound-mail (same HMAC scheme as the payment webhook). */
  INBOUND_WEBHOOK_SECRETS: z
    .string()
    .default('{"mail":"local-inbound-webhook-secret"}')
    .transform((s, ctx) => {
      try {
        return z.record(z.string(), z.string().min(8)).parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of source → secret (secrets ≥ 8 chars)' });
        return z.NEVER;
      }
    }),

  // SMS: Twilio, or the local fake of its Messages API.
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC + 32 hex digits').default('AC00000000000000000000000000000000'),
  TWILIO_AUTH_TOKEN: z.string().default('local-fake-token'),
  TWILIO_FROM: z.string().default('+33700000000'),
  /** Base URL of the Twilio API; set to the local fake when not using real Twilio. */
  TWILIO_API_BASE: optionalString.pipe(z.string().url().optional()),
  SMS_FAKE_PORT: port(8026),

  // Letters and agency: an HTTP provider when configured, else an outbox directory.
  POSTAL_API_URL: optionalString.pipe(z.string().url().optional()),
  POSTAL_API_KEY: optionalString,
  AGENCY_URL: optionalString.pipe(z.string().url().optional()),
  AGENCY_HMAC_SECRET: z.string().min(16).default('local-agency-secret-change-me'),
  /** Timeout of one provider call (SMTP session, Twilio, postal and agency HTTP APIs). */
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),

  // Provider rate limits, per channel task queue (activities per second).
  RATE_EMAIL_PER_SEC: rate(20),
  RATE_SMS_PER_SEC: rate(5),
  RATE_LETTER_PER_SEC: rate(2),
  RATE_AGENCY_PER_SEC: rate(1),

  // Webhooks: JSON object { "<source>": "<secret>" } for the generic endpoint, or
  // { "<source>": ["<current>", "<next>"] }: during a rotation both are accepted, so the
  // sender can switch whenever it likes (docs/operations.md §7).
  WEBHOOK_SECRETS: z
    .string()
    .default('{"bank":"local-webhook-secret"}')
    .transform((s, ctx) => {
      try {
        const secret = z.string().min(8);
        const parsed = z.record(z.string(), z.union([secret, z.array(secret).min(1).max(2)])).parse(JSON.parse(s));
        return Object.fromEntries(Object.entries(parsed).map(([source, v]) => [source, typeof v === 'string' ? [v] : v]));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON object of source → secret, or → [current, next] (secrets ≥ 8 chars)' });
        return z.NEVER;
      }
    }),
  /**
   * Payload encryption keys (codec/): `id:base64` pairs, comma-separated, the current
   * (newest) first: it encrypts every new payload; the others still decrypt what they
   * encrypted. Each key is 32 random bytes (`openssl rand -base64 32`); ids are short names
   * such as 2026-12. Unset: a fixed local development key (id local-dev): never in production.
   */
  PAYLOAD_CODEC_KEYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return [{ id: LOCAL_DEV_CODEC_KEY_ID, key: LOCAL_DEV_CODEC_KEY }];
      const keys: Array<{ id: string; key: Buffer }> = [];
      for (const [n, item] of v.split(',').map((x) => x.trim()).filter(Boolean).entries()) {
        const at = item.indexOf(':');
        const id = at > 0 ? item.slice(0, at) : '';
        const b64 = item.slice(at + 1);
        const key = Buffer.from(b64, 'base64');
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) ctx.addIssue({ code: 'custom', message: `key ${n + 1}: must be <id>:<base64 key>, the id of letters, digits, . _ - (got "${id}")` });
        else if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) ctx.addIssue({ code: 'custom', message: `key ${id}: must be 32 bytes in base64 (openssl rand -base64 32), got ${key.length} bytes` });
        else if (keys.some((k) => k.id === id)) ctx.addIssue({ code: 'custom', message: `key id ${id} appears twice` });
        else keys.push({ id, key });
      }
      if (keys.length === 0 && ctx.issues.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one key' });
      return keys;
    }),
  /**
   * Browser origins allowed to call the codec endpoints (/codec/encode, /codec/decode):
   * the Temporal UI's, comma-separated. Default: the local dev server's UI.
   */
  CODEC_CORS_ORIGINS: optionalString,
  STRIPE_API_KEY: z.string().default('sk_test_local'),
  STRIPE_WEBHOOK_SECRET: z.string().default('whsec_local_stripe_secret'),

  // The creditor, as it appears on reminders and letters.
  CREDITOR_NAME: z.string().default('Relance Démo SAS'),
  CREDITOR_EMAIL: z.string().default('comptabilite@example.test'),
  CREDITOR_PHONE: z.string().default('+33 1 23 45 67 89'),
  CREDITOR_ADDRESS: z.string().default('12 rue de la Paix|75002|Paris|FR'),
  /** Registration shown under the letterhead, e.g. "SIRET 123 456 789 00012". */
  CREDITOR_LEGAL_ID: optionalString,
  /** Bank details printed on formal notices besides the payment link (checked with ibantools: country format and check digits). */
  CREDITOR_IBAN: optionalString.pipe(
    z
      .string()
      .transform((v) => electronicFormatIBAN(v) ?? v)
      .refine((v) => isValidIBAN(v), 'must be a valid IBAN (country format and check digits)')
      .optional(),
  ),
  CREDITOR_BIC: optionalString.pipe(z.string().refine((v) => isValidBIC(v.replace(/\s+/g, '')), 'must be a valid BIC (8 or 11 characters)').optional()),
  /** Legal form and share capital printed in the letters' footer (Code de commerce R123-237), e.g. "SAS au capital de 50 000 €". */
  CREDITOR_SHARE_CAPITAL: optionalString,
  /** The creditor's logo on the letterhead of letters and statements: a PNG or JPEG file of at most 1 MB. */
  CREDITOR_LOGO_FILE: optionalString.pipe(z.string().refine(isLogoFile, 'must name a readable PNG or JPEG file of at most 1 MB').optional()),
  /** Name and title in the signature block of letters. */
  CREDITOR_SIGNATORY: z.string().default('Le service recouvrement'),
  DEFAULT_POLICY_ID: z.string().default('fr-b2b-default'),
  /**
   * JSON file of the reference rates (ECB, legal rate) by half-year; unset: the shipped
   * config/rate-tables.json. Validated at start (docs/operations.md, "Updating a rate table").
   */
  RATE_TABLES_FILE: optionalString,
  /** Policy of B2C customers' invoices issued without a policyId. */
  DEFAULT_B2C_POLICY_ID: z.string().default('fr-b2c-default'),
  /** A folder of policy files (YAML or JSON) loaded at API start; read-only through the API. */
  POLICY_DIR: optionalString,
  /** How long an API process trusts its cache of published policies and rules (publishing in this process reloads at once). */
  POLICY_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),

  // Risk class of a customer from its payment behaviour (domain/payment-behaviour.ts,
  // docs/operations.md "Payment behaviour and risk class"); policy rules can match on it.
  /** A needs an average of days late of paid invoices at most this. */
  RISK_A_MAX_AVG_DAYS_LATE: z.coerce.number().min(0).default(5),
  /** A needs the p90 of days late at most this. */
  RISK_A_MAX_P90_DAYS_LATE: z.coerce.number().int().min(0).default(15),
  /** A needs at least this many paid invoices (less history: B). */
  RISK_A_MIN_PAID_INVOICES: z.coerce.number().int().min(1).default(3),
  /** C from this average of days late. */
  RISK_C_MIN_AVG_DAYS_LATE: z.coerce.number().min(0).default(30),
  /** C from this p90 of days late. */
  RISK_C_MIN_P90_DAYS_LATE: z.coerce.number().int().min(0).default(60),
  /** C from this many broken promises + breached instalment plans. */
  RISK_C_MIN_BROKEN: z.coerce.number().int().min(1).default(2),

  // Worker tuning.
  /** Workflow runs kept in a worker's memory between tasks (each ~0.3 MB; see DEFAULT_WORKFLOW_CACHE_SIZE). */
  WORKFLOW_CACHE_SIZE: z.coerce.number().int().min(0).default(DEFAULT_WORKFLOW_CACHE_SIZE),
  /**
   * V8 heap cap of the image's worker process, in MB (deploy/entrypoint.sh passes it as
   * --max-old-space-size); unset: 128 + WORKFLOW_CACHE_SIZE / 2 (worker/heap.ts). Read by the
   * entrypoint; validated here so that a wrong value fails at start.
   */
  WORKER_HEAP_MB: z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.coerce.number().int().min(96).max(65_536).optional()),
  /** Workflow threads per worker process (each its own V8 context and cache share); the SDK's default is 1. */
  WORKFLOW_THREADS: z.coerce.number().int().min(1).max(16).default(1),
  /** Prebuilt workflow bundle (`npm run build:bundle`) for `npm run worker`; unset: built at start in a child process. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  /**
   * Which task queues `npm run worker` polls, comma-separated: workflows (the dunning
   * workflows and their local activities), email, sms, letter, agency. Default: all of them.
   * Splitting lets the process that holds the sleeping invoices load no channel modules
   * (pdfkit, Twilio, nodemailer: ~75 MB) and lets channel workers scale on their own.
   */
  WORKER_ROLES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      // Unset or blank: every role, as before the variable existed.
      if (v === undefined || v.trim() === '') return [...WORKER_ROLE_NAMES];
      const roles = v.split(',').map((r) => r.trim()).filter(Boolean);
      const unknown = roles.filter((r) => !(WORKER_ROLE_NAMES as readonly string[]).includes(r));
      if (unknown.length || roles.length === 0) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${WORKER_ROLE_NAMES.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}` });
        return z.NEVER;
      }
      return [...new Set(roles)] as WorkerRole[];
    }),
  /** Graceful worker shutdown: how long in-flight activities may run on after SIGTERM before they are cancelled. */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),

  // Observability (observability/, docs/operations.md).
  /** host:port of the Temporal SDK's Prometheus exporter in the worker process; "off" disables it. Default 127.0.0.1:9464 (off under NODE_ENV=test). */
  WORKER_METRICS_ADDRESS: optionalString,
  /** Port of `npm run worker`'s own HTTP server (/healthz, /metrics with app and SDK metrics) on HOST; 0 disables it. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
});

/** Every environment variable the configuration reads (deploy files are checked against it). */
export const ENV_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  constructor(public readonly issues: Array<{ variable: string; message: string }>) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export interface Config extends Env {
  creditor: {
    name: string;
    email: string;
    phone: string;
    address: { lines: string[]; postalCode: string; city: string; country: string };
    iban?: string;
    bic?: string;
    shareCapital?: string;
    /** Absolute path of the logo (CREDITOR_LOGO_FILE), checked at start. */
    logoFile?: string;
  };
  dataDir: string;
  /** The reference rates, from RATE_TABLES_FILE or the shipped table, validated. */
  rateTables: RateTables;
  /** CODEC_CORS_ORIGINS, or the local Temporal UI (127.0.0.1 and localhost on TEMPORAL_UI_PORT). */
  codecCorsOrigins: string[];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })),
    );
  }
  const e = parsed.data;
  if (e.SMTP_RELAY_PORT !== undefined && !e.SMTP_RELAY_HOST) {
    throw new ConfigError([{ variable: 'SMTP_RELAY_PORT', message: 'needs SMTP_RELAY_HOST (the SMTP server the worker sends to)' }]);
  }
  let rateTables: RateTables;
  try {
    rateTables = loadRateTables(e.RATE_TABLES_FILE);
  } catch (err) {
    throw new ConfigError([{ variable: 'RATE_TABLES_FILE', message: (err as Error).message }]);
  }
  const [street = '', postalCode = '', city = '', country = 'FR'] = e.CREDITOR_ADDRESS.split('|');
  return {
    ...e,
    dataDir: e.DATA_DIR,
    codecCorsOrigins: e.CODEC_CORS_ORIGINS
      ? e.CODEC_CORS_ORIGINS.split(',').map((o) => o.trim().replace(/\/$/, '')).filter(Boolean)
      : [`http://127.0.0.1:${e.TEMPORAL_UI_PORT}`, `http://localhost:${e.TEMPORAL_UI_PORT}`],
    creditor: {
      name: e.CREDITOR_NAME,
      email: e.CREDITOR_EMAIL,
      phone: e.CREDITOR_PHONE,
      address: { lines: [street], postalCode, city, country },
      ...(e.CREDITOR_IBAN ? { iban: e.CREDITOR_IBAN } : {}),
      ...(e.CREDITOR_BIC ? { bic: e.CREDITOR_BIC.replace(/\s+/g, '').toUpperCase() } : {}),
      ...(e.CREDITOR_SHARE_CAPITAL ? { shareCapital: e.CREDITOR_SHARE_CAPITAL } : {}),
      ...(e.CREDITOR_LOGO_FILE ? { logoFile: path.resolve(e.CREDITOR_LOGO_FILE) } : {}),
    },
    rateTables,
  };
}

/** A logo pdfkit can draw: PNG or JPEG by its signature, at most 1 MB, readable now. */
function isLogoFile(file: string): boolean {
  try {
    if (statSync(file).size > 1024 * 1024) return false;
    const head = readFileSync(file).subarray(0, 8);
    const png = head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
    return png || jpeg;
  } catch {
    return false;
  }
}
