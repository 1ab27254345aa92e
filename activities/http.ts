// JSON over HTTP for the providers that speak it (postal API, collection agency): one
// POST with a timeout, the provider's answer on success, and a classified DeliveryError
// otherwise (429 with Retry-After, 5xx, 4xx, network failures).
import { classifyHttpStatus, classifyNetworkError, parseRetryAfter } from './failures';
import type { PermanentFailureType } from '../contracts/failures';

export interface PostJsonOptions {
  /** Provider name for messages, e.g. "postal API". */
  what: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Failure type for a 4xx whose error code says the recipient is at fault. */
  recipientErrorCodes?: ReadonlySet<string>;
}

export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** POSTs `body` (already serialised, so callers can sign the exact bytes). */
export async function postJson<T>(url: string, body: string, options: PostJsonOptions): Promise<JsonResponse<T>> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...options.headers },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    throw classifyNetworkError(err, options.what);
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (response.ok) return { status: response.status, headers: response.headers, body: json as T };

  const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = error?.code;
  const permanentType: PermanentFailureType | undefined =
    code && options.recipientErrorCodes?.has(code) ? 'InvalidRecipient' : undefined;
  throw classifyHttpStatus(response.status, `${options.what} ${response.status}: ${error?.message ?? (text.slice(0, 200) || response.statusText)}`, {
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    providerCode: code ?? response.status,
    permanentType,
  });
}
