// The checks of the ops messages a person sends (API, Temporal UI, CLI): one function per
// message, returning the first problem as { field, message } or undefined. Pure, so the
// workflow uses them both as update validators (refused before anything is recorded) and
// in its signal handlers (a wrong signal is recorded as refused, never applied).
import { AMBIGUOUS_SEND_ACTIONS, AMBIGUOUS_SEND_CHANNELS, CANCEL_REASONS, DISPUTE_OUTCOMES } from '../contracts/messages';
import { resolveDeadline } from './clock';
import { isCalendarDate, localDate } from './dates';

export interface FieldProblem {
  field: string;
  message: string;
}

type Problem = FieldProblem | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const problem = (field: string, message: string): FieldProblem => ({ field, message });

function text(v: Record<string, unknown>, field: string, opts: { required?: boolean; max?: number } = {}): Problem {
  const value = v[field];
  if (value === undefined || value === null) return opts.required ? problem(field, 'is required') : undefined;
  if (typeof value !== 'string') return problem(field, `must be a string, not ${typeof value}`);
  if (opts.required && value.trim() === '') return problem(field, 'must not be empty');
  if (value.length > (opts.max ?? 500)) return problem(field, `must be at most ${opts.max ?? 500} characters`);
  return undefined;
}

function oneOf(v: Record<string, unknown>, field: string, allowed: readonly string[]): Problem {
  const value = v[field];
  if (typeof value !== 'string' || !allowed.includes(value)) return problem(field, `must be one of ${allowed.join(', ')}`);
  return undefined;
}

function positiveMinor(v: Record<string, unknown>, field: string, required: boolean): Problem {
  const value = v[field];
  if (value === undefined || value === null) return required ? problem(field, 'is required') : undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return problem(field, 'must be a positive integer (minor units)');
  return undefined;
}

const first = (...checks: Array<() => Problem>): Problem => {
  for (const check of checks) {
    const p = check();
    if (p) return p;
  }
  return undefined;
};

const body = (v: unknown, optional = false): Problem =>
  (v === undefined || v === null) && optional ? undefined : isObject(v) ? undefined : problem('(input)', 'must be a JSON object');

export function checkPause(v: unknown, timeZone: string, now: number): Problem {
  return (
    body(v) ??
    first(
      () => text(v as Record<string, unknown>, 'reason', { required: true }),
      () => {
        const until = (v as Record<string, unknown>).until;
        if (until === undefined || until === null) return undefined;
        const at = typeof until === 'string' ? resolveDeadline(until, timeZone) : undefined;
        if (!at) return problem('until', 'must be YYYY-MM-DD or an ISO instant with offset');
        if (Date.parse(at) <= now) return problem('until', 'must be in the future');
        return undefined;
      },
    )
  );
}

export function checkResume(v: unknown): Problem {
  return body(v, true) ?? (isObject(v) ? text(v, 'note') : undefined);
}

export function checkOpenDispute(v: unknown): Problem {
  return body(v) ?? text(v as Record<string, unknown>, 'reason', { required: true });
}

export function checkResolveDispute(v: unknown): Problem {
  if (body(v)) return body(v);
  const r = v as Record<string, unknown>;
  return first(
    () => oneOf(r, 'outcome', DISPUTE_OUTCOMES),
    () => positiveMinor(r, 'creditNoteMinor', r.outcome === 'credit-note'),
    () => text(r, 'note'),
  );
}

export function checkCancel(v: unknown): Problem {
  if (body(v)) return body(v);
  const r = v as Record<string, unknown>;
  return first(() => oneOf(r, 'reason', CANCEL_REASONS), () => text(r, 'note'));
}

export function checkPayment(v: unknown, currency: string): Problem {
  if (body(v)) return body(v);
  const r = v as Record<string, unknown>;
  return first(
    () => text(r, 'paymentId', { required: true, max: 200 }),
    () => positiveMinor(r, 'amountMinor', true),
    () => (r.currency === currency ? undefined : problem('currency', `must be the invoice's currency ${currency}`)),
    () => (typeof r.receivedAt === 'string' && !Number.isNaN(Date.parse(r.receivedAt)) ? undefined : problem('receivedAt', 'must be an ISO instant')),
    () => text(r, 'source', { required: true, max: 100 }),
  );
}

export function checkResolveAmbiguous(v: unknown): Problem {
  if (body(v)) return body(v);
  const r = v as Record<string, unknown>;
  return first(
    () => text(r, 'communicationId', { required: true, max: 100 }),
    () => text(r, 'stepId', { required: true, max: 100 }),
    () => oneOf(r, 'channel', AMBIGUOUS_SEND_CHANNELS),
    () => oneOf(r, 'action', AMBIGUOUS_SEND_ACTIONS),
    () => text(r, 'note', { max: 2000 }),
  );
}

/** "YYYY-MM-DD" when `value` is a real calendar date, else undefined. */
export function calendarDateOf(value: string): string | undefined {
  return isCalendarDate(value) ? value : undefined;
}

/** The day the formal-notice letter was posted: a real date, not after today in the customer's zone. */
export function checkNoticePosted(v: unknown, timeZone: string, now: number): Problem {
  return (
    body(v) ??
    first(
      () => {
        const postedOn = (v as Record<string, unknown>).postedOn;
        if (postedOn === undefined || postedOn === null) return problem('postedOn', 'is required');
        const date = typeof postedOn === 'string' ? calendarDateOf(postedOn) : undefined;
        if (!date) return problem('postedOn', 'must be a date YYYY-MM-DD');
        if (date > localDate(now, timeZone)) return problem('postedOn', 'must not be in the future');
        return undefined;
      },
      () => text(v as Record<string, unknown>, 'note', { max: 2000 }),
    )
  );
}
