// Short formal SMS reminders through the twilio SDK: amount and payment link from the
// domain templates, the number validated to E.164 with libphonenumber-js (parsed with
// the customer's country), and Twilio's `I-Twilio-Idempotency-Token` header carrying
// the idempotency key so a resend after a crash is recognised by the provider.
//
// Where the API lives: TWILIO_API_BASE when set (the local fake in tests and the
// embedded start); else real Twilio when a real Account SID is configured; with the
// placeholder SID and no base, the local fake on HOST:SMS_FAKE_PORT.
import { AsyncLocalStorage } from 'node:async_hooks';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';
import type { Config } from '../config/index';
import type { SendInput, SendResult } from './types';
import { PermanentFailureTypes } from '../contracts/failures';
import { runLoggedSend } from './communication-log';
import { resolveContacts, type ResolvedContacts } from './contacts';
import { creditorOf, overridesOf, renderFor, sendContext, specOf } from './deps';
import type { ActivityDeps } from './deps';
import { classifyHttpStatus, classifyNetworkError, DeliveryError, parseRetryAfter, permanent } from './failures';
import { invalidAddressReason } from '../prisma/invalid-addresses';

type RequestOptions<T> = RequestClient.RequestOptions<T>;

const PLACEHOLDER_SID = /^AC0{32}$/;

/** Twilio error codes that mean "this number cannot receive it", not "your request is wrong". */
const INVALID_NUMBER_CODES = new Set([21211, 21214, 21217, 21407, 21408, 21610, 21612, 21614]);

/** Base URL of the Twilio API to call, or undefined for real Twilio. */
export function twilioApiBase(config: Config): string | undefined {
  if (config.TWILIO_API_BASE) return config.TWILIO_API_BASE.replace(/\/+$/, '');
  if (PLACEHOLDER_SID.test(config.TWILIO_ACCOUNT_SID)) return `http://${config.HOST}:${config.SMS_FAKE_PORT}`;
  return undefined;
}

/** E.164 form of a customer's number, or a permanent InvalidRecipient failure. */
export function toE164(phone: string, country: string): string {
  const parsed = parsePhoneNumberFromString(phone, { defaultCountry: country.toUpperCase() as CountryCode });
  if (!parsed || !parsed.isValid()) {
    throw permanent(PermanentFailureTypes.InvalidRecipient, `invalid phone number ${JSON.stringify(phone)} (country ${country})`);
  }
  const type = parsed.getType();
  if (type === 'FIXED_LINE' || type === 'TOLL_FREE' || type === 'PREMIUM_RATE' || type === 'SHARED_COST' || type === 'VOICEMAIL') {
    throw permanent(PermanentFailureTypes.InvalidRecipient, `phone number ${parsed.number} cannot receive SMS (${type})`);
  }
  return parsed.number;
}

interface CallState {
  token: string;
  responseHeaders?: Record<string, unknown>;
}

/**
 * The SDK's HTTP client, pointed at `base` when given, adding the idempotency token of
 * the current send and keeping the response headers (Retry-After) that the SDK's
 * RestException drops.
 */
class RelanceTwilioHttpClient extends twilio.RequestClient {
  constructor(
    private readonly base: string | undefined,
    private readonly calls: AsyncLocalStorage<CallState>,
    timeout: number,
  ) {
    super({ timeout, autoRetry: false });
  }

  override async request<TData>(opts: RequestOptions<TData>): Promise<TwilioResponse<TData>> {
    const state = this.calls.getStore();
    const uri = this.base ? opts.uri.replace(/^https:\/\/[^/]+/, this.base) : opts.uri;
    const headers = { ...opts.headers, ...(state ? { 'I-Twilio-Idempotency-Token': state.token } : {}) };
    const response = await super.request({ ...opts, uri, headers });
    if (state) state.responseHeaders = response.headers as Record<string, unknown>;
    return response;
  }
}

export function classifyTwilioError(err: unknown, responseHeaders?: Record<string, unknown>): DeliveryError {
  if (!(err instanceof twilio.RestException)) return classifyNetworkError(err, 'Twilio');
  const e = err;
  const retryAfterMs = parseRetryAfter(responseHeaders?.['retry-after'] as string | undefined);
  const message = `Twilio ${e.status}${e.code ? ` error ${e.code}` : ''}: ${e.message ?? ''}`.trim();
  return classifyHttpStatus(e.status, message, {
    retryAfterMs,
    providerCode: e.code,
    cause: err,
    permanentType: e.code && INVALID_NUMBER_CODES.has(e.code) ? PermanentFailureTypes.InvalidRecipient : undefined,
  });
}

/**
 * The SDK client, pointed where twilioApiBase says. Each call carries its idempotency token,
 * and its classifier reads that call's response headers (Retry-After).
 */
export function createTwilioSender(config: Config) {
  const base = twilioApiBase(config);
  const calls = new AsyncLocalStorage<CallState>();
  // Delivery reports come back to the API (api/inbound/routes.ts) when it is reachable from outside.
  const statusCallback = config.PUBLIC_BASE_URL ? `${config.PUBLIC_BASE_URL.replace(/\/+$/, '')}/v1/webhooks/twilio/status` : undefined;
  const client = twilio(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, {
    httpClient: new RelanceTwilioHttpClient(base, calls, config.PROVIDER_TIMEOUT_MS),
    autoRetry: false,
  });
  return {
    provider: base ? 'twilio-fake' : 'twilio',
    call(token: string) {
      const state: CallState = { token };
      return {
        async send(to: string, body: string): Promise<{ providerId: string }> {
          const message = await calls.run(state, () => client.messages.create({ to, from: config.TWILIO_FROM, body, ...(statusCallback ? { statusCallback } : {}) }));
          return { providerId: message.sid };
        },
        classify: (err: unknown) => classifyTwilioError(err, state.responseHeaders),
      };
    },
  };
}

/**
 * The recipient step of an SMS send (the billing contact's number, else the customer's): the
 * E.164 number, or the permanent failure of having none usable. The invalid-number lookup is
 * done here, before the logged send, because its recipient() step is synchronous.
 */
export async function smsRecipient(prisma: ActivityDeps['prisma'], contacts: ResolvedContacts): Promise<() => string> {
  const { customer } = contacts.input.invoice;
  const phone = customer.phone?.trim();
  let number: string | undefined;
  try {
    number = phone ? toE164(phone, customer.country) : undefined;
  } catch {
    number = undefined; // the step below reports it
  }
  const invalid = number ? await invalidAddressReason(prisma, 'sms', number) : undefined;
  return () => {
    if (contacts.doNotSms) throw permanent(PermanentFailureTypes.DoNotContact, `customer ${customer.id} asked not to receive SMS`);
    if (!phone) throw permanent(PermanentFailureTypes.NoRecipient, `customer ${customer.id} has no phone number`);
    const e164 = toE164(phone, customer.country);
    if (invalid) throw permanent(PermanentFailureTypes.InvalidRecipient, `phone number ${e164} is marked invalid: ${invalid}`);
    return e164;
  };
}

export function createSendSms(deps: ActivityDeps) {
  const ctx = sendContext(deps);
  const config = deps.config;
  const creditor = creditorOf(config);
  const templates = overridesOf(deps);
  const twilioSender = createTwilioSender(config);

  return async function sendSms(sent: SendInput): Promise<SendResult> {
    // The number (billing contact's, else the customer's) and do-not-SMS from the record now.
    const contacts = await resolveContacts(deps.prisma, sent);
    const { input } = contacts;
    const call = twilioSender.call(input.idempotencyKey);
    return runLoggedSend(
      ctx,
      specOf(input, 'sms', twilioSender.provider),
      {
        recipient: await smsRecipient(deps.prisma, contacts),
        async prepare(recipient) {
          const { text } = await renderFor('sms', input, creditor, templates);
          return { recipient, body: text };
        },
        deliver: (content) => call.send(content.recipient, content.body!),
        classify: call.classify,
      },
    );
  };
}
