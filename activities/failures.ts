// How a provider error becomes a Temporal failure. Channel adapters classify what
// their provider said into a DeliveryError; the communication log records it and
// turns it into an ApplicationFailure: permanent ones are non-retryable (the workflow
// then uses the step's fallback channel), transient ones retry with backoff, honouring
// the provider's Retry-After through `nextRetryDelay`.
import { ApplicationFailure } from '@temporalio/common';
import { PermanentFailureTypes, TransientFailureTypes, type PermanentFailureType, type TransientFailureType } from '../contracts/failures';

export interface DeliveryErrorOptions {
  /** Milliseconds the provider asked us to wait (Retry-After). */
  retryAfterMs?: number;
  /**
   * True when the request may have reached the provider before it failed (a timeout
   * after the body was sent, a 5xx): the log marks the row AMBIGUOUS until a retry
   * settles it.
   */
  uncertain?: boolean;
  /** The provider's own error code, for the log (e.g. Twilio 21211, SMTP 550). */
  providerCode?: string | number;
  cause?: unknown;
}

export class DeliveryError extends Error {
  readonly retryAfterMs?: number;
  readonly uncertain: boolean;
  readonly providerCode?: string | number;
  /** What was said with the provider (an SMTP conversation), kept when the outcome is ambiguous. */
  transcript?: string;

  constructor(
    readonly kind: 'permanent' | 'transient',
    readonly type: PermanentFailureType | TransientFailureType,
    message: string,
    options: DeliveryErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DeliveryError';
    this.retryAfterMs = options.retryAfterMs;
    this.uncertain = options.uncertain ?? false;
    this.providerCode = options.providerCode;
  }

  /** The text stored in Communication.error: "<Type>: <message>". */
  get logText(): string {
    const code = this.providerCode === undefined ? '' : ` [${this.providerCode}]`;
    return `${this.type}${code}: ${this.message}`;
  }

  toFailure(): ApplicationFailure {
    return ApplicationFailure.create({
      message: this.message,
      type: this.type,
      nonRetryable: this.kind === 'permanent',
      details: this.providerCode === undefined ? [] : [{ providerCode: this.providerCode }],
      nextRetryDelay: this.kind === 'transient' && this.retryAfterMs !== undefined ? this.retryAfterMs : undefined,
      cause: this.cause instanceof Error ? this.cause : undefined,
    });
  }
}

export const permanent = (type: PermanentFailureType, message: string, options?: DeliveryErrorOptions) =>
  new DeliveryError('permanent', type, message, options);

export const transient = (type: TransientFailureType, message: string, options?: DeliveryErrorOptions) =>
  new DeliveryError('transient', type, message, options);

/** Retry-After as seconds ("120") or an HTTP date; undefined when absent or unreadable. Capped at 1 h. */
export function parseRetryAfter(value: string | string[] | null | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null || v.trim() === '') return undefined;
  const cap = 3_600_000;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.min(cap, Math.round(Number(v) * 1000));
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(cap, Math.max(0, at - now));
}

/**
 * The usual mapping of an HTTP status from a provider: 429 → rate limited (retry after
 * Retry-After), 5xx → unavailable (retry; the request may have been processed), 408 →
 * timeout, other 4xx → rejected for good.
 */
export function classifyHttpStatus(
  status: number,
  message: string,
  options: DeliveryErrorOptions & { permanentType?: PermanentFailureType } = {},
): DeliveryError {
  if (status === 429) return transient(TransientFailureTypes.RateLimited, message, options);
  if (status === 408) return transient(TransientFailureTypes.Timeout, message, { uncertain: true, ...options });
  if (status >= 500) return transient(TransientFailureTypes.Unavailable, message, { uncertain: true, ...options });
  return permanent(options.permanentType ?? PermanentFailureTypes.ProviderRejected, message, options);
}

const NETWORK_BEFORE_SEND = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * A network error of fetch/axios/nodemailer: transient; uncertain unless the connection
 * never opened (or the caller knows better and passes `beforeSend`).
 */
export function classifyNetworkError(err: unknown, what: string, beforeSend = false): DeliveryError {
  const e = err as { code?: string; cause?: { code?: string }; name?: string; message?: string };
  const code = e.code ?? e.cause?.code;
  const timeout = e.name === 'TimeoutError' || e.name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ECONNABORTED';
  const message = `${what}: ${e.message ?? String(err)}${code ? ` (${code})` : ''}`;
  return transient(timeout ? TransientFailureTypes.Timeout : TransientFailureTypes.Unavailable, message, {
    uncertain: !beforeSend && !(code && NETWORK_BEFORE_SEND.has(code)),
    cause: err,
  });
}
