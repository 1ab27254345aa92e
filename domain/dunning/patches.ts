// The patch ids of the invoice workflow: each gates a change of what a running workflow does,
// so a history recorded before it replays as it ran. The pure modules ask `run.has(id)` at the
// exact point the workflow asked patched(id) before the restructure (issue 12); the workflow
// passes patched() itself, tests pass a set.

/** Issue 19's signals (replies, delivery reports, payments in flight) are ignored by older runs. */
export const INBOUND_PATCH = 'issue-19-inbound-holds';
/** Runs after this patch hand the email of a friendly step to the customer's daily batch when the policy says so. */
export const CONSOLIDATION_PATCH = 'issue-18-consolidation';
/** Runs after this patch hand a batched step's SMS to the customer's batch too (one SMS per customer per batch). */
export const SMS_BATCH_PATCH = 'issue-18-sms-batch';
/** Runs after this patch list the instalments in the plan-confirmed email (issue 12: the email never did). */
export const NOTICE_PLAN_PATCH = 'issue-12-notice-plan';
/**
 * Runs after this patch key each notice by the journal sequence of its timeline entry; before,
 * by state.seq alone, which only moves at a flush: two plans agreed in one activation shared a
 * key and the second confirmation was dropped as already sent.
 */
export const NOTICE_KEYS_PATCH = 'issue-12-notice-keys';
/** Runs after this patch date the formal notice (provider dispatch or collector's posting) and note outbox drafts. */
export const NOTICE_DATE_PATCH = 'issue-15-notice-date';
/**
 * Runs recorded before this patch computed penalties from tables compiled into the bundle;
 * runs after it ask the rateTables local activity at start and before each step.
 */
export const RATE_TABLES_PATCH = 'issue-15-rate-tables';
/** Runs after these patches honour the customer's grace period and step approvals (issue 17). */
export const APPROVAL_PATCH = 'issue-17-approval';
export const GRACE_PATCH = 'issue-17-grace';
/** An invoice issued while its customer is paused starts paused (issue 18). */
export const CUSTOMER_HOLD_PATCH = 'issue-18-customer-hold';
/**
 * Runs after this patch end in a failed run of type DunningDefect, journalled, when domain code
 * throws a plain Error (a send window that never opens, an impossible due date): before, the
 * workflow task failed and was retried forever, and nobody was told.
 */
export const DEFECT_PATCH = 'issue-12-defect-fails-run';
/**
 * Runs after this patch wake every policy.holdRecheck during a hold without an end (dispute,
 * pause without until), so the state is re-evaluated and a long run can continue as new; and
 * carry only the holidays of the years still ahead across continue-as-new.
 */
export const HOLD_RECHECK_PATCH = 'issue-12-hold-recheck';
/** Runs after this patch upsert a search attribute only when its value changed (one history event per change). */
export const UPSERT_CHANGED_PATCH = 'issue-12-upsert-changed';
/** A wrong ops signal is recorded as refused instead of applied. */
export const SIGNAL_VALIDATION_PATCH = 'ops-signal-validation';
/** A step whose sends ran late moves the rest of the calendar with it. */
export const CALENDAR_FROM_SEND_PATCH = 'calendar-from-actual-send';
/** A send that may have reached a provider is held for a collector instead of failing over. */
export const AMBIGUOUS_HOLD_PATCH = 'ambiguous-send-hold';
/**
 * Runs after this patch skip a pre-due (courtesy) step that comes due after the due date (a late
 * start, holidays pushing it past, a hold ending just before): asked only when that happens.
 */
export const NO_LATE_COURTESY_PATCH = 'issue-12-no-late-courtesy';
