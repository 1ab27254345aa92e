// One conversation per customer on a real Temporal dev server (not time skipping), through the
// API: a policy whose daily batch is the next minute (consolidateAt), four invoices of one
// customer whose reminder falls due now, the real workers (customer activities with their
// Temporal client, the real email and batch email activities over SMTP to the sink). The
// customer gets one email at the batch time listing the four, read back from the sink.
import { randomBytes } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendBatchEmail } from '../../activities/batch-email';
import { createCalendarActivities } from '../../activities/calendar';
import { createCustomerActivities } from '../../activities/customer';
import { createSendEmail } from '../../activities/email';
import { createJournalActivities } from '../../activities/journal';
import { workflowIdFor } from '../../contracts/ids';
import { statusQuery } from '../../contracts/messages';
import { DEMO_SECONDS } from '../../domain/policy';
import { startMailSink, type MailSink, type SinkMessage } from '../../tools/peers/mail-sink';
import { createDunningWorkers } from '../../worker/create-worker';
import { daysFromToday, eventually, invoiceRequest, recordingChannels, startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let sink: MailSink;
let workers: Worker[] = [];
let running: Promise<unknown> | undefined;

beforeAll(async () => {
  [h, sink] = await Promise.all([startApiHarness({ workers: false, config: { POLICY_CACHE_SECONDS: '1' } }), startMailSink({ smtpPort: 0, webPort: 0 })]);
  const config = { ...h.config, SMTP_PORT: sink.smtpPort, SMTP_HOST: '127.0.0.1' };
  const deps = { prisma: h.prisma, config, log: { info: () => {}, warn: () => {} } };
  workers = await createDunningWorkers({
    connection: h.env.nativeConnection,
    namespace: 'default',
    activities: {
      ...createJournalActivities(h.prisma),
      ...createCalendarActivities(),
      ...recordingChannels(h.prisma, h.calls),
      // No spread of the batch within its minute: the test waits for one customer's batch.
      ...createCustomerActivities(h.client, { batchSpreadSeconds: 0 }),
      sendEmail: createSendEmail(deps),
      sendBatchEmail: createSendBatchEmail(deps),
    },
    rates: { email: 100, sms: 100, letter: 100, agency: 100 },
    taskQueuePrefix: h.taskQueuePrefix,
  });
  running = Promise.all(workers.map((w) => w.run()));
}, 180_000);

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await running?.catch(() => {});
  await Promise.all([h?.close(), sink?.stop()]);
});

const keyOf = (m: SinkMessage) => m.headers.get('x-relance-idempotency-key') as string | undefined;

describe('the daily batch on a real server', () => {
  it('four invoices of a customer whose reminder falls due now: one email at the batch time listing the four, none per invoice', async () => {
    const zone = 'Europe/Paris';
    // The batch: the first minute boundary at least 20 s ahead (the hand-offs come first).
    const batchAt = Math.ceil((Date.now() + 20_000) / 60_000) * 60_000;
    const at = DateTime.fromMillis(batchAt, { zone });
    const policyId = `batch-now-${randomBytes(3).toString('hex')}`;
    const { id: _id, version: _version, ...demo } = DEMO_SECONDS;
    const created = await h.request('POST', '/v1/policies', {
      body: {
        ...demo,
        id: policyId,
        name: 'Batch in a minute',
        steps: [{ id: 'reminder-1', offset: 'PT1S', channels: ['email'], templateId: 'reminder-1' }],
        // Every day a business day: the batch is today's whatever day the test runs.
        sendWindow: { enabled: false, start: '09:00', end: '18:00', businessDaysOnly: false, skipPublicHolidays: false },
        consolidateAt: at.toFormat('HH:mm'),
        consolidateWaitFor: 'PT2M',
      },
    });
    expect(created.status, created.text).toBe(201);
    // Grouping is the default of a policy written through the API.
    expect(created.json.definition.consolidate).toBe('friendly');
    expect((await h.request('POST', `/v1/policies/${policyId}/versions/1/publish`)).status).toBe(200);

    const customer = `BATCH-${randomBytes(3).toString('hex').toUpperCase()}`;
    const bodies = [1, 2, 3, 4].map(() =>
      invoiceRequest({ policyId, dueDate: daysFromToday(0), dueAt: new Date(Date.now() + 1_000).toISOString() }, { externalId: customer, name: 'Groupé SARL', email: 'compta@groupe.example', timeZone: zone }),
    );
    for (const body of bodies) {
      const r = await h.request('POST', '/v1/invoices', { body });
      expect(r.status, r.text).toBe(201);
    }
    const numbers = bodies.map((b) => b.number).sort();
    const key = `customer-${customer}/${at.toISODate()}/email`;

    const mail = await eventually(async () => sink.messages().find((m) => keyOf(m) === key), 90_000, 'the batch email in the sink');
    // One email, to the customer, listing the four, read from its text.
    expect(mail.to).toEqual(['compta@groupe.example']);
    expect([...(mail.text ?? '').matchAll(/Facture n°(\S+) du/g)].map((x) => x[1]).sort()).toEqual(numbers);
    expect(mail.subject).toMatch(/Relance : 4 factures en retard de paiement/);
    const row = await h.prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: key }, include: { invoices: true } });
    expect(row.status).toBe('SENT');
    // Sent at the batch time, not before.
    expect(row.sentAt!.getTime()).toBeGreaterThanOrEqual(batchAt);
    expect(row.invoices.map((i) => i.invoiceNumber).sort()).toEqual(numbers);
    // No reminder of its own for any of them.
    expect(sink.messages().filter((m) => numbers.some((n) => keyOf(m) === `${workflowIdFor(n)}/reminder-1/email`))).toEqual([]);
    // Each invoice marks its step sent by the batch.
    for (const n of numbers) {
      const st = await eventually(async () => {
        const s = await h.client.workflow.getHandle(workflowIdFor(n)).query(statusQuery);
        return s.completedSteps.includes('reminder-1') && s;
      }, 20_000, `${n} done`);
      expect(st.timeline.find((t) => t.type === 'sent' && t.detail?.stepId === 'reminder-1')?.detail).toMatchObject({ batchKey: key, invoices: 4 });
    }
    expect(sink.messages().filter((m) => keyOf(m) === key)).toHaveLength(1);
  }, 150_000);
});
