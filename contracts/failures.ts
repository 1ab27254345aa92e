// The failure types channel activities throw, shared by the activities (which throw them),
// the workflow (which decides retry or fallback on them) and the API. Plain constants, so
// the workflow can import them without taking a value from activities/ into its bundle.

/** Failure types thrown as non-retryable ApplicationFailures by channel activities. */
export const PermanentFailureTypes = {
  /** The customer has no address for this channel (no email, no phone...). */
  NoRecipient: 'NoRecipient',
  /** The address exists but the provider or validation refused it for good. */
  InvalidRecipient: 'InvalidRecipient',
  /** The provider refused the message (4xx other than 429). */
  ProviderRejected: 'ProviderRejected',
  /**
   * An earlier attempt may have reached a provider that cannot drop repeats, and the step
   * is one that is never resent blindly: held until a collector resolves it.
   */
  AmbiguousDelivery: 'AmbiguousDelivery',
  /** The customer's record says not on this channel (do-not-SMS, do-not-call): the step's fallback applies. */
  DoNotContact: 'DoNotContact',
} as const;
export type PermanentFailureType = (typeof PermanentFailureTypes)[keyof typeof PermanentFailureTypes];

/**
 * Failure types thrown as retryable ApplicationFailures by channel activities (the
 * activity retry policy applies; `nextRetryDelay` carries a provider's Retry-After).
 */
export const TransientFailureTypes = {
  /** The provider asked us to slow down (HTTP 429, SMTP 421/452...). */
  RateLimited: 'ProviderRateLimited',
  /** The provider is unreachable or failed (5xx, SMTP 4xx, connection errors). */
  Unavailable: 'ProviderUnavailable',
  /** No answer in time; the request may or may not have been processed. */
  Timeout: 'ProviderTimeout',
} as const;
export type TransientFailureType = (typeof TransientFailureTypes)[keyof typeof TransientFailureTypes];

/** A message or activity input refused as invalid (update validators, the calendar activity); `details[0]` is `{ field, message }`. */
export const ValidationFailureType = 'ValidationError';

/**
 * The workflow failed on a defect (a plain Error from domain code, e.g. a send window that
 * never opens): the run ends failed with this type, its timeline says why, instead of the
 * workflow task being retried forever.
 */
export const DunningDefectType = 'DunningDefect';
