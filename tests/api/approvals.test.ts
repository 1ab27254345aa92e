// Approval before a step and the customer's grace period (issue 17), over HTTP against the
// real database and a Temporal dev server running the workflow with recording channels: a
// formal notice waits for approval (listed in GET /v1/approvals), nobody answers (escalated,
// still not sent), approved (sent; actor in the audit log and the timeline); postponed (asked
// again at the date), skipped (never sent), a step whose bound lets it go out unanswered; the
// customer's record asking approval of running invoices' formal steps; an agreed grace period
// moving the next reminder of a running invoice, and of a new one.
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/ids';
import { statusQuery } from '../../contracts/messages';
import { addIsoDuration } from '../../domain/duration';
import { daysFromToday, eventually, invoiceRequest, problemFields, uniqueCustomerId, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
/** What the file's second-scale policies share besides their steps: no send window, grace in seconds. */
const IN_SECONDS = {
  sendWindow: { enabled: false, start: '09:00', end: '18:00', businessDaysOnly: true, skipPublicHolidays: true },
  penalties: { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 },
  instalmentGrace: 'PT5S',
  maxInstalments: 12,
  promiseGrace: 'PT3S',
  agencyListenFor: 'PT30S',
};

useApiHarness((a) => (h = a), { config: { POLICY_CACHE_SECONDS: '1' } });
beforeAll(async () => {
  const created = await h.request('POST', '/v1/policies', {
    body: {
      id: 'approval-seconds',
      name: 'Approvals, in seconds',
      audience: 'B2B',
      steps: [
        { id: 'reminder-1', offset: 'PT2S', channels: ['email'], templateId: 'reminder-1' },
        { id: 'formal-notice', offset: 'PT4S', channels: ['letter'], templateId: 'formal-notice', approval: { within: 'PT4S', onTimeout: 'escalate' } },
        { id: 'final-notice', offset: 'PT8S', channels: ['email'], templateId: 'final-notice', approval: { within: 'PT2S', onTimeout: 'send' } },
      ],
      ...IN_SECONDS,
      // Steps in seconds, sent at step time: no daily batch.
      consolidate: 'off',
    },
  });
  expect(created.status, created.text).toBe(201);
  const published = await h.request('POST', `/v1/policies/approval-seconds/versions/${created.json.version}/publish`);
  expect(published.status, published.text).toBe(200);
}, 120_000);

const customerId = () => uniqueCustomerId('C17A');
const sent = (number: string, stepId: string) => h.calls.filter((c) => c.invoiceNumber === number && c.stepId === stepId);
const pending = async (number: string) =>
  (await h.request('GET', '/v1/approvals')).json.items.find((a: { invoiceNumber: string }) => a.invoiceNumber === number);
const timelineOf = async (number: string) => (await h.request('GET', `/v1/invoices/${number}/timeline`)).json.entries as Array<{ kind: string; type: string; detail: Record<string, unknown> }>;

async function issue(policyId: string, customer: string, dueInMs: number) {
  const body = invoiceRequest({ policyId, dueDate: daysFromToday(0), dueAt: new Date(Date.now() + dueInMs).toISOString() }, { externalId: customer, name: 'Clé SA' });
  const r = await h.request('POST', '/v1/invoices', { body });
  expect(r.status, r.text).toBe(201);
  return body.number;
}

describe('approval before a step', () => {
  it('waits for approval (listed), escalates without an answer and never sends unapproved; approved: sent, actor in audit and timeline', async () => {
    const customer = customerId();
    const number = await issue('approval-seconds', customer, 500);
    const asked = await eventually(() => pending(number), 30_000, 'the approval request');
    expect(asked).toMatchObject({ invoiceNumber: number, customer: { id: customer, name: 'Clé SA' }, stepId: 'formal-notice', onTimeout: 'escalate', escalated: false });
    expect(Date.parse(asked.until) - Date.parse(asked.since)).toBe(4_000);
    expect(sent(number, 'reminder-1')).toHaveLength(1);
    const status = await h.client.workflow.getHandle(workflowIdFor(number)).query(statusQuery);
    expect(status.holding).toMatchObject({ kind: 'approval' });
    expect(status.nextAction).toBeUndefined();

    // Nobody answers within the bound: held and escalated (first on the list), never sent.
    const escalated = await eventually(async () => ((await pending(number))?.escalated ? pending(number) : undefined), 30_000, 'the escalation');
    expect(escalated).toMatchObject({ id: asked.id, until: null });
    const list = (await h.request('GET', '/v1/approvals?escalated=true')).json.items;
    expect(list.map((a: { id: string }) => a.id)).toContain(asked.id);
    expect(sent(number, 'formal-notice')).toEqual([]);

    // A wrong decision is refused by the workflow, naming the field; nothing recorded.
    const wrong = await h.request('POST', `/v1/invoices/${number}/approval`, { body: { action: 'approve', stepId: 'reminder-1' } });
    expect(wrong.status).toBe(422);
    expect(problemFields(wrong)).toEqual(['stepId']);
    const noDate = await h.request('POST', `/v1/approvals/${asked.id}`, { body: { action: 'postpone' } });
    expect(noDate.status).toBe(422);
    expect(problemFields(noDate)).toEqual(['until']);
    const badAction = await h.request('POST', `/v1/approvals/${asked.id}`, { body: { action: 'maybe' } });
    expect(badAction.status).toBe(422);
    expect(problemFields(badAction)).toEqual(['action']);

    const approved = await h.request('POST', `/v1/approvals/${asked.id}`, { body: { action: 'approve', note: 'key account: go' } });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json).toEqual({ invoiceNumber: number, stepId: 'formal-notice', action: 'approve', by: 'api-tests' });
    await eventually(async () => sent(number, 'formal-notice').length === 1, 15_000, 'the approved formal notice');
    await eventually(async () => !(await pending(number)), 15_000, 'the request off the list');
    expect((await h.request('POST', `/v1/approvals/${asked.id}`, { body: { action: 'approve' } })).status).toBe(409);
    expect((await h.request('POST', '/v1/approvals/00000000-0000-4000-8000-000000000000', { body: { action: 'approve' } })).status).toBe(404);

    const audit = await h.request('GET', `/v1/audit?targetType=invoice&targetId=${number}&action=invoice.approval.*`);
    expect(audit.json.items.map((e: { action: string; actor: string }) => `${e.action}:${e.actor}`)).toEqual(['invoice.approval.approve:api-tests']);
    // The journal reaches the timeline after the send (a flush of its own): wait for the notice's `sent`.
    const eventTypes = (t: Awaited<ReturnType<typeof timelineOf>>) => t.filter((e) => e.kind === 'event').map((e) => e.type);
    const timeline = await eventually(
      async () => {
        const t = await timelineOf(number);
        const types = eventTypes(t);
        return types.includes('approval-decided') && types.lastIndexOf('sent') > types.indexOf('approval-decided') ? t : undefined;
      },
      15_000,
      'the formal notice sent after the decision, in the timeline',
    );
    const types = eventTypes(timeline);
    expect(types).toEqual(expect.arrayContaining(['approval-requested', 'approval-escalated', 'approval-decided']));
    expect(types.indexOf('approval-decided')).toBeLessThan(types.lastIndexOf('sent'));
    expect(timeline.find((e) => e.type === 'approval-decided')?.detail).toMatchObject({ stepId: 'formal-notice', action: 'approve', by: 'api-tests', note: 'key account: go' });
    expect(timeline.find((e) => e.type === 'approval-requested')?.detail).toMatchObject({ approvalId: asked.id });
    expect(timeline.some((e) => e.kind === 'action' && e.type === 'invoice.approval.approve' && e.detail.actor === 'api-tests')).toBe(true);
    await h.client.workflow.getHandle(workflowIdFor(number)).terminate('test over');
  }, 90_000);

  it('postponed: asked again at the date; skipped: never sent, the calendar goes on; a bound with onTimeout send lets the next step out unanswered', async () => {
    const number = await issue('approval-seconds', customerId(), 500);
    await eventually(() => pending(number), 30_000, 'the approval request');
    const past = await h.request('POST', `/v1/invoices/${number}/approval`, { body: { action: 'postpone', until: new Date(Date.now() - 1_000).toISOString() } });
    expect(past.status).toBe(422);
    expect(problemFields(past)).toEqual(['until']);

    const until = new Date(Date.now() + 3_000).toISOString();
    const postponed = await h.request('POST', `/v1/invoices/${number}/approval`, { body: { action: 'postpone', until } });
    expect(postponed.status, postponed.text).toBe(200);
    expect(postponed.json).toMatchObject({ stepId: 'formal-notice', action: 'postpone', until });
    await eventually(async () => !(await pending(number)), 10_000, 'the postponed request off the list');
    const again = await eventually(() => pending(number), 20_000, 'the request asked again');
    expect(Date.parse(again.since)).toBeGreaterThanOrEqual(Date.parse(until));
    expect(sent(number, 'formal-notice')).toEqual([]);

    const skipped = await h.request('POST', `/v1/invoices/${number}/approval`, { body: { action: 'skip', note: 'customer called' } });
    expect(skipped.status, skipped.text).toBe(200);
    const skippedAt = Date.now();
    // final-notice (4 s after the skipped step) asks approval for 2 s, then goes out (onTimeout send).
    await eventually(async () => sent(number, 'final-notice').length === 1, 30_000, 'the final notice after its bound');
    expect(sent(number, 'final-notice')[0].at).toBeGreaterThanOrEqual(skippedAt + 5_000);
    expect(sent(number, 'formal-notice')).toEqual([]);
    const types = (await timelineOf(number)).filter((e) => e.kind === 'event').map((e) => `${e.type}:${e.detail.stepId ?? ''}:${e.detail.action ?? ''}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'approval-decided:formal-notice:postpone',
        'approval-decided:formal-notice:skip',
        'step-skipped:formal-notice:',
        'approval-requested:final-notice:',
        'approval-timed-out:final-notice:send',
      ]),
    );
    const audit = await h.request('GET', `/v1/audit?targetType=invoice&targetId=${number}&action=invoice.approval.*`);
    expect(audit.json.items.map((e: { action: string }) => e.action).sort()).toEqual(['invoice.approval.postpone', 'invoice.approval.skip']);
    await h.client.workflow.getHandle(workflowIdFor(number)).terminate('test over');
  }, 90_000);

  it("the customer's record asks approval before the formal steps: running invoices get it, new ones start with it", async () => {
    const customer = customerId();
    const created = await h.request('POST', '/v1/customers', { body: { externalId: customer, name: 'Compte Clé SA', kind: 'B2B', country: 'FR' } });
    expect(created.json.approvalBeforeFormalSteps).toBe(false);
    // demo-seconds: formal-notice 15 s after the due instant, no approval in the policy.
    const number = await issue('demo-seconds', customer, 1_000);
    const patched = await h.request('PATCH', `/v1/customers/${customer}`, { body: { approvalBeforeFormalSteps: true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.approvalBeforeFormalSteps).toBe(true);
    const asked = await eventually(() => pending(number), 40_000, 'the approval of the formal notice');
    expect(asked).toMatchObject({ stepId: 'formal-notice', onTimeout: 'escalate' });
    expect(sent(number, 'reminder-2')).toHaveLength(2);
    expect(sent(number, 'formal-notice')).toEqual([]);
    expect((await timelineOf(number)).find((e) => e.type === 'approval-setting-changed')?.detail).toMatchObject({ approvalBeforeFormalSteps: true, by: 'api-tests' });
    await h.client.workflow.getHandle(workflowIdFor(number)).terminate('test over');

    const next = await issue('demo-seconds', customer, 60_000);
    const issued = await eventually(async () => (await timelineOf(next)).find((e) => e.type === 'issued'), 10_000, 'the issued entry');
    expect(issued.detail).toMatchObject({ approvalBeforeFormalSteps: true });
    await h.client.workflow.getHandle(workflowIdFor(next)).terminate('test over');
  }, 90_000);
});

describe('approval by default in a new policy', () => {
  it('a policy created through the API asks approval before its formal notice and agency handover and groups per customer, unless it opts out', async () => {
    const doc = (id: string, formalApproval?: Record<string, unknown>) => ({
      id,
      name: 'Defaults',
      audience: 'B2B',
      steps: [
        { id: 'reminder-1', offset: 'PT2S', channels: ['email'], templateId: 'reminder-1' },
        { id: 'formal-notice', offset: 'PT3S', channels: ['letter'], templateId: 'formal-notice', ...(formalApproval ? { approval: formalApproval } : {}) },
        { id: 'agency', offset: 'PT60S', channels: ['agency'], templateId: 'agency-handover' },
      ],
      ...IN_SECONDS,
    });
    const byDefault = await h.request('POST', '/v1/policies', { body: doc('approval-default') });
    expect(byDefault.status, byDefault.text).toBe(201);
    const steps = byDefault.json.definition.steps as Array<{ id: string; approval?: unknown }>;
    expect(steps.map((st) => [st.id, st.approval ?? null])).toEqual([
      ['reminder-1', null],
      ['formal-notice', { within: 'P3D', onTimeout: 'escalate' }],
      ['agency', { within: 'P3D', onTimeout: 'escalate' }],
    ]);
    // One conversation per customer unless the policy says otherwise (issue 18).
    expect(byDefault.json.definition.consolidate).toBe('friendly');

    // Opted out: the formal notice goes out at its time without anybody's approval.
    const optOut = await h.request('POST', '/v1/policies', { body: { ...doc('approval-opt-out', { required: false }), consolidate: 'off' } });
    expect(optOut.status, optOut.text).toBe(201);
    expect(optOut.json.definition.steps[1].approval).toEqual({ required: false });
    expect(optOut.json.definition.consolidate).toBe('off');
    expect((await h.request('POST', `/v1/policies/approval-opt-out/versions/${optOut.json.version}/publish`)).status).toBe(200);
    const number = await issue('approval-opt-out', customerId(), 1_000);
    await eventually(async () => sent(number, 'formal-notice').length === 1, 30_000, 'the formal notice sent without approval');
    expect(await pending(number)).toBeUndefined();
    await h.client.workflow.getHandle(workflowIdFor(number)).terminate('test over');
  }, 90_000);
});

describe('grace period', () => {
  it("an agreed grace period moves the next reminder of the customer's running invoice and of a new one; removed, the reminder goes out", async () => {
    const customer = customerId();
    await h.request('POST', '/v1/customers', { body: { externalId: customer, name: 'Délai SARL', kind: 'B2B', country: 'FR' } });
    // demo-seconds: the courtesy email 5 s before the due instant.
    const number = await issue('demo-seconds', customer, 12_000);
    const handle = h.client.workflow.getHandle(workflowIdFor(number));
    const before = (await handle.query(statusQuery)).nextAction!;
    expect(before.stepId).toBe('courtesy');

    const patched = await h.request('PATCH', `/v1/customers/${customer}`, { body: { agreedTerms: { gracePeriod: { days: 2, agreedBy: 'Paul (sales)' } } } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json.agreedTerms.gracePeriod).toMatchObject({ days: 2, agreedBy: 'Paul (sales)' });
    const after = (await handle.query(statusQuery)).nextAction!;
    expect(after).toMatchObject({ stepId: 'courtesy', at: addIsoDuration(before.at, 'P2D', 'Europe/Paris') });
    const changed = await eventually(async () => (await timelineOf(number)).find((e) => e.type === 'grace-period-changed'), 10_000, 'the change entry');
    expect(changed.detail).toMatchObject({ from: 0, to: 2, by: 'api-tests' });
    // Its calendar instant passes: not sent.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(before.at) + 2_000 - Date.now())));
    expect(sent(number, 'courtesy')).toEqual([]);

    // A new invoice of the customer starts with it.
    const dueAt = Date.now() + 60_000;
    const next = await issue('demo-seconds', customer, dueAt - Date.now());
    const nextStatus = await h.client.workflow.getHandle(workflowIdFor(next)).query(statusQuery);
    expect(nextStatus.nextAction).toMatchObject({ stepId: 'courtesy' });
    // Issued a few ms after `dueAt` was taken: compare to the second.
    const expected = Date.parse(addIsoDuration(new Date(dueAt - 5_000).toISOString(), 'P2D', 'Europe/Paris'));
    expect(Math.abs(Date.parse(nextStatus.nextAction!.at) - expected)).toBeLessThan(1_000);
    const issued = await eventually(async () => (await timelineOf(next)).find((e) => e.type === 'issued'), 10_000, 'the issued entry');
    expect(issued.detail).toMatchObject({ graceDays: 2 });
    await h.client.workflow.getHandle(workflowIdFor(next)).terminate('test over');

    // Removed: the courtesy's instant is past, it goes out now.
    const removed = await h.request('PATCH', `/v1/customers/${customer}`, { body: { agreedTerms: { gracePeriod: null } } });
    expect(removed.status).toBe(200);
    await eventually(async () => sent(number, 'courtesy').length === 1, 15_000, 'the courtesy once the grace is removed');
    await handle.terminate('test over');
  }, 90_000);
});
