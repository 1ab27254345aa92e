// Ops actions as updates with validators, through the API and through the Temporal CLI
// (what an engineer on call types): a wrong input is refused with the field named and
// nothing is recorded; a valid one is applied before the answer. And the collector's
// resolution of an ambiguous send: listed, refused when not ambiguous, 404 when unknown.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { locateTemporalBinary } from '../../tools/temporal-bin';
import { statusQuery } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
useApiHarness((a) => (h = a));

async function issued(): Promise<string> {
  const body = invoiceRequest();
  expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
  return body.number as string;
}

describe('ops actions refuse bad input', () => {
  it('through the API: the workflow validator answers 422 naming the field; a valid pause is applied before the 202', async () => {
    const number = await issued();
    const base = `/v1/invoices/${number}`;
    const past = await h.request('POST', `${base}/pause`, { body: { reason: 'holiday', until: '2020-01-01' } });
    expect(past.status).toBe(422);
    expect(past.json.errors).toEqual([{ field: 'until', message: 'must be in the future' }]);
    const handle = h.client.workflow.getHandle(`invoice-${number}`);
    expect((await handle.query(statusQuery)).timeline.some((t) => t.type === 'paused')).toBe(false);

    const ok = await h.request('POST', `${base}/pause`, { body: { reason: 'customer on holiday' } });
    expect(ok.status).toBe(202);
    // An update: applied by the time the API answered, no polling needed.
    expect((await handle.query(statusQuery)).holding).toMatchObject({ kind: 'pause', reason: 'customer on holiday' });
    expect((await h.request('POST', `${base}/resume`, { body: {} })).status).toBe(202);
    expect((await handle.query(statusQuery)).holding).toBeUndefined();
  });

  it('the posting date of a formal notice: refused in the future or when the notice is dated already (422 naming postedOn), applied before the 202', async () => {
    const number = await issued();
    const base = `/v1/invoices/${number}/notice-posted`;
    const handle = h.client.workflow.getHandle(`invoice-${number}`);
    const future = await h.request('POST', base, { body: { postedOn: daysFromToday(3) } });
    expect(future.status).toBe(422);
    expect(future.json.errors).toEqual([{ field: 'postedOn', message: 'must not be in the future' }]);
    expect((await handle.query(statusQuery)).timeline.some((t) => t.type === 'formal-notice-dated')).toBe(false);

    const posted = daysFromToday(-1);
    const ok = await h.request('POST', base, { body: { postedOn: posted, note: 'posted at La Poste, Paris 2e' } });
    expect(ok.status, ok.text).toBe(202);
    // An update: the notice is dated by the time the API answered.
    const dated = (await handle.query(statusQuery)).timeline.filter((t) => t.type === 'formal-notice-dated');
    expect(dated.map((t) => t.detail)).toEqual([{ date: posted, source: 'posted-by-hand', note: 'posted at La Poste, Paris 2e' }]);

    const again = await h.request('POST', base, { body: { postedOn: daysFromToday(0) } });
    expect(again.status).toBe(422);
    expect(again.json.errors).toEqual([{ field: 'postedOn', message: `the formal notice is dated already (${posted})` }]);
  });

  it('through the Temporal CLI: `workflow update execute --name pause` with a wrong input is refused, naming the field', async () => {
    const number = await issued();
    const cli = locateTemporalBinary('cli');
    const run = (input: string) =>
      promisify(execFile)(
        cli,
        [
          'workflow', 'update', 'execute', '--address', h.env.address, '--workflow-id', `invoice-${number}`, '--name', 'pause', '--input', input,
          // Failures are stored encrypted (payload codec): the CLI reads them through the API's codec endpoint.
          '--codec-endpoint', `${h.baseUrl}/codec`, '--codec-auth', `Bearer ${h.apiKey}`,
        ],
        { timeout: 30_000 },
      ).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
      );
    const refused = await run('{"reason": 42}');
    expect(refused.code).not.toBe(0);
    expect(refused.out).toMatch(/reason: must be a string/);
    const handle = h.client.workflow.getHandle(`invoice-${number}`);
    expect((await handle.query(statusQuery)).holding).toBeUndefined();

    const accepted = await run('{"reason": "asked by phone"}');
    expect(accepted.code, accepted.out).toBe(0);
    expect((await handle.query(statusQuery)).holding).toMatchObject({ kind: 'pause', reason: 'asked by phone' });
  });

  it('a signal with a wrong input (a sender that cannot wait) is recorded as refused, never applied', async () => {
    const number = await issued();
    const handle = h.client.workflow.getHandle(`invoice-${number}`);
    await handle.signal('pause', { reason: 42 });
    const st = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.timeline.some((t) => t.type === 'signal-refused') ? s : undefined;
    });
    expect(st.holding).toBeUndefined();
    const timeline = await h.request('GET', `/v1/invoices/${number}/timeline`);
    expect(timeline.status).toBe(200);
    expect(JSON.stringify(timeline.json)).toMatch(/signal-refused/);
  });
});

describe('collectors resolve ambiguous sends', () => {
  it('lists by status; refuses what is not ambiguous (409) and what does not exist (404)', async () => {
    const number = await issued();
    const invoice = await h.prisma.invoice.findUniqueOrThrow({ where: { number } });
    const common = { invoiceId: invoice.id, invoiceNumber: number, workflowId: `invoice-${number}`, channel: 'email', provider: 'smtp' };
    const held = await h.prisma.communication.create({
      data: { ...common, idempotencyKey: `invoice-${number}/formal-notice/email`, stepId: 'formal-notice', status: 'AMBIGUOUS', transcript: 'C: DATA\nS: 354 go ahead' },
    });
    const sent = await h.prisma.communication.create({
      data: { ...common, idempotencyKey: `invoice-${number}/reminder-1/email`, stepId: 'reminder-1', status: 'SENT' },
    });

    const list = await h.request('GET', `/v1/communications?status=ambiguous&invoiceNumber=${number}`);
    expect(list.status).toBe(200);
    expect(list.json.items.map((c: { id: string }) => c.id)).toEqual([held.id]);
    expect(list.json.items[0]).toMatchObject({ status: 'ambiguous', transcript: 'C: DATA\nS: 354 go ahead', resolution: null });

    expect((await h.request('POST', `/v1/communications/${sent.id}/resolve`, { body: { action: 'delivered' } })).status).toBe(409);
    expect((await h.request('POST', `/v1/communications/00000000-0000-4000-8000-000000000000/resolve`, { body: { action: 'drop' } })).status).toBe(404);
    const bad = await h.request('POST', `/v1/communications/${held.id}/resolve`, { body: { action: 'maybe' } });
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].field).toBe('action');
    // The workflow is not holding that send: it refuses, and the row stays unresolved.
    const notHeld = await h.request('POST', `/v1/communications/${held.id}/resolve`, { body: { action: 'delivered' } });
    expect(notHeld.status).toBe(422);
    expect(notHeld.json.errors[0].field).toBe('stepId');
    expect((await h.prisma.communication.findUniqueOrThrow({ where: { id: held.id } })).resolution).toBeNull();
  });
});
