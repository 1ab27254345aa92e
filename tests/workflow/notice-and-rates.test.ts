// Issue 15 in the workflow (time skipping): a consumer's interest starts at the formal
// notice, dated by the collector's posting of an outbox draft; a newly confirmed rate table
// reaches a running invoice at its next step through the recorded rateTables activity.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { loadRateTables } from '../../config/rate-tables';
import { formalNoticePostedSignal, statusQuery } from '../../contracts/messages';
import { getBuiltinPolicy } from '../../domain/policy';
import type { RateTables } from '../../domain/rates';
import { cleanup, dunningInput, makeDoubles, parisDatePlus, startInvoice, useTestEnv } from './harness';

let env: TestWorkflowEnvironment;
useTestEnv((e) => (env = e));

const DAY = 86_400_000;

describe('formal notice date and rate tables in a running invoice', () => {
  it('B2C: no interest before the posting date a collector records; then from it, with the rate table received at the next step', async () => {
    const shipped = loadRateTables();
    let tables: RateTables = { ...shipped, version: 'test-v1' };
    const doubles = makeDoubles();
    // The outbox: a draft to post by hand, as activities/letter.ts answers without a provider.
    doubles.activities.sendLetter = async () => ({ status: 'SENT', provider: 'outbox', letter: { registered: false } });
    doubles.activities.rateTables = async () => tables;
    const { handle, worker } = await startInvoice(env, {
      queue: 'notice',
      doubles,
      input: (invoice) => dunningInput({ ...invoice, customer: { ...invoice.customer, kind: 'B2C' } }, getBuiltinPolicy('fr-b2c-default', 1)),
    });
    try {
      // Past the formal notice (J+30 from a due date 10 days ahead), before the final notice (J+60).
      await env.sleep(50 * DAY);
      let st = await handle.query(statusQuery);
      expect(st.timeline.map((t) => t.type)).toContain('letter-draft-to-post');
      // No notice dated yet: a consumer owes no interest.
      expect(st.penalties?.interestMinor ?? 0).toBe(0);
      expect(st.penalties?.formalNoticeDate).toBeUndefined();

      const postedOn = parisDatePlus(await env.currentTimeMs(), -5);
      await handle.signal(formalNoticePostedSignal, { postedOn });
      // A confirmed table arrives (new version); the invoice takes it at its next step.
      tables = { ...shipped, version: 'test-v2', provisional: { ecb: [], legal: [] } };
      await env.sleep(30 * DAY);
      st = await handle.query(statusQuery);
      const types = st.timeline.map((t) => t.type);
      expect(types).toContain('formal-notice-dated');
      expect(st.timeline.find((t) => t.type === 'rates-updated')?.detail).toEqual({ from: 'test-v1', to: 'test-v2' });
      expect(st.penalties?.formalNoticeDate).toBe(postedOn);
      // Interest runs from the day after the posting date, at the legal rate, and no €40.
      expect(st.penalties?.lines[0]?.from).toBe(parisDatePlus(Date.parse(`${postedOn}T12:00:00Z`), 1));
      expect(st.penalties?.lines[0]?.basis?.kind).toBe('legal');
      expect(st.penalties?.interestMinor).toBeGreaterThan(0);
      expect(st.penalties?.indemnityMinor).toBe(0);
    } finally {
      await cleanup(handle, worker);
    }
  });
});
