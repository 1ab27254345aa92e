// Policies and templates as data, over HTTP against the real database and a Temporal dev
// server: a policy created, published and used (its custom reminder reaches a real SMTP
// sink), templates refused for an unknown variable or missing legal mentions, the rule
// that chose a policy, a bulk migration of 50 running invoices (dry run, then twice), and
// a policy file that conflicts with the database stopping the start.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendEmail } from '../../activities/email';
import { TaskQueues } from '../../contracts/task-queues';
import { startApi } from '../../api/server';
import { PolicyCatalog } from '../../policies/catalog';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { main as cli } from '../../scripts/relance-cli';
import { vi } from 'vitest';
import { workflowIdFor } from '../../contracts/ids';
import { policyQuery } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, startApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let sink: MailSink;
let tmp: string;

beforeAll(async () => {
  sink = await startMailSink({ smtpPort: 0, webPort: 0 });
  // Real email over SMTP to the sink; the other channels are recording doubles.
  h = await startApiHarness({
    config: { POLICY_CACHE_SECONDS: '1', SMTP_PORT: String(sink.smtpPort) },
    channels: (prisma, config) => ({ sendEmail: createSendEmail({ prisma, config, log: { info: () => {}, warn: () => {} } }) }),
  });
  tmp = await mkdtemp(path.join(tmpdir(), 'relance-policies-'));
}, 180_000);

afterAll(async () => {
  await Promise.all([h?.close(), sink?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const window = { enabled: false, start: '09:00', end: '18:00', businessDaysOnly: true, skipPublicHolidays: true };

function policyDoc(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `Policy ${id}`,
    audience: 'B2B',
    steps: [
      { id: 'reminder-1', offset: 'P10D', channels: ['email'], templateId: 'reminder-1' },
      { id: 'reminder-2', offset: 'P25D', channels: ['email'], templateId: 'reminder-2' },
    ],
    sendWindow: window,
    penalties: { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 },
    instalmentGrace: 'P5D',
    maxInstalments: 12,
    promiseGrace: 'P2D',
    agencyListenFor: 'P180D',
    // These tests watch each invoice's own sends: no daily batch (grouping is the API's default).
    consolidate: 'off',
    ...extra,
  };
}

async function createAndPublish(id: string, extra: Record<string, unknown> = {}): Promise<number> {
  const created = await h.request('POST', '/v1/policies', { body: policyDoc(id, extra) });
  expect(created.status, created.text).toBe(201);
  const version = created.json.version as number;
  const published = await h.request('POST', `/v1/policies/${id}/versions/${version}/publish`);
  expect(published.status, published.text).toBe(200);
  return version;
}

describe('policies as data', () => {
  it('a policy at J+10 / J+25 with its own template is created, published and used: the first reminder reaches the SMTP sink with the custom text', async () => {
    const created = await h.request('POST', '/v1/policies', { body: policyDoc('controller-calendar') });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ id: 'controller-calendar', version: 1, status: 'draft' });

    const saved = await h.request('PUT', '/v1/policies/controller-calendar/versions/1/templates/reminder-1/email/fr', {
      body: {
        subject: 'Petit rappel : facture {{ invoice.number }}',
        body: 'Bonjour {{ customer.name }},\n\nSauf erreur, {{ amounts.balance }} restent dus depuis le {{ invoice.dueDate }}. <b>Merci</b> & à bientôt.\n\n- Payer : {{ payment.link }}\n\n{{ creditor.name }}',
      },
    });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.json.sample.text).toContain('Bonjour Dupont SARL');

    // Nothing runs on a draft: an invoice naming it is refused.
    const early = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ policyId: 'controller-calendar' }) });
    expect(early.status).toBe(422);
    expect(early.json.errors[0].field).toBe('policyId');

    const published = await h.request('POST', '/v1/policies/controller-calendar/versions/1/publish');
    expect(published.status, published.text).toBe(200);
    expect(published.json.status).toBe('published');

    // Immutable once published.
    const edit = await h.request('PUT', '/v1/policies/controller-calendar/versions/1', { body: policyDoc('controller-calendar', { name: 'changed' }) });
    expect(edit.status).toBe(409);

    // Due 11 days ago: J+10 is past (sent at once), J+25 is 14 days ahead.
    const req = invoiceRequest({ policyId: 'controller-calendar', issueDate: daysFromToday(-41), dueDate: daysFromToday(-11) });
    const issued = await h.request('POST', '/v1/invoices', { body: req });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.json.policy).toEqual({ id: 'controller-calendar', version: 1 });

    const mail = await eventually(async () => sink.messages().find((m) => m.subject === `Petit rappel : facture ${req.number}`), 30_000, 'the custom reminder in the sink');
    expect(mail.text).toContain('Bonjour Dupont SARL,');
    expect(mail.text).toContain('<b>Merci</b> & à bientôt.');
    expect(mail.text).toContain('- Payer : https://pay.example.test/i/1');
    // HTML part from the same template, escaped.
    expect(mail.html).toContain('&lt;b&gt;Merci&lt;/b&gt; &amp; à bientôt.');
    expect(mail.html).not.toContain('<b>Merci</b>');
    // The workflow pinned the published version; the second step is two weeks ahead.
    const policy = await h.client.workflow.getHandle(workflowIdFor(req.number)).query(policyQuery);
    expect(policy.steps.map((s) => s.offset)).toEqual(['P10D', 'P25D']);
    expect(sink.messages().filter((m) => m.subject?.includes(req.number))).toHaveLength(1);
    // The invoice's preview shows what went out: the saved template, not the built-in pack.
    const preview = await h.request('GET', `/v1/invoices/${req.number}/reminders/reminder-1/preview?channel=email`);
    expect(preview.status, preview.text).toBe(200);
    expect(preview.json.subject).toBe(`Petit rappel : facture ${req.number}`);
    expect(preview.json.text).toContain('Bonjour Dupont SARL,');

    // A published policy in use cannot be deleted.
    const del = await h.request('DELETE', '/v1/policies/controller-calendar/versions/1');
    expect(del.status).toBe(409);
    expect(del.json.detail).toContain('1 open invoice');

    // Every change is recorded: who (the API key's name), when, what.
    const changes = await h.request('GET', '/v1/policies/controller-calendar/changes');
    expect(changes.json.changes.map((c: { action: string }) => c.action)).toEqual(['draft-created', 'template-created', 'published']);
    expect(changes.json.changes.every((c: { actor: string }) => c.actor === 'api-tests')).toBe(true);
    expect(changes.json.changes[1].diff.body.after).toContain('Sauf erreur');
  }, 90_000);

  it('validation errors name the path', async () => {
    const doc = policyDoc('bad-offsets');
    (doc.steps[1] as { offset: string }).offset = 'P2X';
    const r = await h.request('POST', '/v1/policies', { body: doc });
    expect(r.status).toBe(422);
    expect(r.json.errors).toContainEqual({ field: 'steps[1].offset', message: expect.stringContaining('ISO-8601 duration') });
    expect(r.json.detail).toContain('steps[1].offset: ');
    expect((await h.request('GET', '/v1/policies/bad-offsets')).status).toBe(404);
  });

  it('a template with an unknown variable is refused, naming it; broken syntax too', async () => {
    await h.request('POST', '/v1/policies', { body: policyDoc('refusals') });
    const unknown = await h.request('PUT', '/v1/policies/refusals/versions/1/templates/reminder-1/email/fr', {
      body: { subject: 'Facture {{ invoice.number }}', body: 'Bonjour {{ customer.fullName }}, {{ amounts.balance }}' },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors).toEqual([{ field: 'body', message: expect.stringContaining('unknown variable "customer.fullName"') }]);

    const broken = await h.request('PUT', '/v1/policies/refusals/versions/1/templates/reminder-1/email/fr', {
      body: { subject: 'Facture {{ invoice.number }}', body: 'Bonjour {% if customer.name %}' },
    });
    expect(broken.status).toBe(422);
    expect(broken.json.errors[0]).toMatchObject({ field: 'body', message: expect.stringContaining('syntax error') });
    // Nothing was saved.
    const version = await h.request('GET', '/v1/policies/refusals/versions/1');
    expect(version.json.templates).toEqual([]);
  });

  it('a formal-notice template without the legal mentions is refused', async () => {
    const doc = policyDoc('formal', {
      steps: [
        { id: 'reminder-1', offset: 'P10D', channels: ['email'], templateId: 'reminder-1' },
        { id: 'formal-notice', offset: 'P30D', channels: ['letter', 'email'], templateId: 'formal-notice' },
      ],
    });
    expect((await h.request('POST', '/v1/policies', { body: doc })).status).toBe(201);
    const path1 = '/v1/policies/formal/versions/1/templates/formal-notice/letter/fr';
    const bare = await h.request('PUT', path1, {
      body: { subject: 'Mise en demeure', body: 'Payez {{ amounts.totalClaim }} avant le {{ dates.deadline }}.' },
    });
    expect(bare.status).toBe(422);
    expect(bare.json.errors[0].message).toContain('legal mentions');
    expect(bare.json.errors[0].message).toContain('{{ penalties.mentions }}');
    expect(bare.json.errors[0].message).toContain('{{ creditor.legalId }}');
    expect(bare.json.errors[0].message).toContain('{{ creditor.iban }}');

    const complete = await h.request('PUT', path1, {
      body: {
        subject: 'Mise en demeure – facture {{ invoice.number }}',
        body: 'Nous vous mettons en demeure de payer {{ amounts.totalClaim }} au plus tard le {{ dates.deadline }} (virement : {{ creditor.iban }}).\n\n{{ penalties.mentions }}\n\n{{ creditor.name }} – {{ creditor.legalId }}',
      },
    });
    expect(complete.status, complete.text).toBe(200);
    expect(complete.json.sample.text).toContain("jusqu'au paiement intégral");
  });

  it('the resolve endpoint names the rule that chose the policy, and issuing follows it', async () => {
    await createAndPublish('segment-de');
    await createAndPublish('segment-big');
    await createAndPublish('segment-usd');
    const rules = await h.request('PUT', '/v1/policy-rules', {
      body: {
        rules: [
          { name: 'Public sector', policyId: 'segment-big', match: { tag: 'public-sector' } },
          { name: 'Germany B2B', policyId: 'segment-de', match: { audience: 'B2B', country: 'DE' } },
          { name: 'Dollar invoices', policyId: 'segment-usd', match: { currency: 'USD' } },
          { name: 'Large amounts', policyId: 'segment-big', match: { minAmount: '10000.00', maxAmount: '1000000.00' } },
        ],
      },
    });
    expect(rules.status, rules.text).toBe(200);

    const resolve = (q: string) => h.request('GET', `/v1/policies/resolve?${q}`);
    const de = await resolve('audience=B2B&country=DE&currency=EUR&amount=100.00');
    expect(de.status, de.text).toBe(200);
    expect(de.json.policy).toMatchObject({ id: 'segment-de', version: 1 });
    expect(de.json.rule).toMatchObject({ kind: 'rule', name: 'Germany B2B', position: 2 });

    const usd = await resolve('audience=B2B&country=FR&currency=USD&amount=50000.00');
    expect(usd.json.rule).toMatchObject({ kind: 'rule', name: 'Dollar invoices', position: 3 });
    const big = await resolve('audience=B2B&country=FR&currency=EUR&amount=20000.00');
    expect(big.json.rule).toMatchObject({ kind: 'rule', name: 'Large amounts', position: 4 });
    expect(big.json.policy.id).toBe('segment-big');
    // A rule whose policy is written for B2B customers is passed over for a consumer.
    const fallback = await resolve('audience=B2C&country=FR&currency=EUR&amount=20000.00');
    expect(fallback.json.rule.kind).toBe('default');
    expect(fallback.json.policy.id).toBe('fr-b2c-default');
    const named = await resolve('policyId=segment-usd&audience=B2B&country=DE&currency=EUR&amount=1.00');
    expect(named.json.rule.kind).toBe('invoice');
    expect(named.json.policy.id).toBe('segment-usd');
    const unknown = await resolve('policyId=nope&audience=B2B&country=DE&currency=EUR&amount=1.00');
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors[0].field).toBe('query.policyId');

    // The customer's agreed policy and tags (customer records) come before the segments.
    for (const externalId of ['CUST-AGREED', 'CUST-TAGGED']) {
      expect((await h.request('POST', '/v1/invoices', { body: invoiceRequest({ policyId: 'segment-de' }, { externalId }) })).status).toBe(201);
    }
    await h.prisma.customer.update({ where: { externalId: 'CUST-AGREED' }, data: { agreedPolicyId: 'segment-usd', tags: ['public-sector'] } });
    await h.prisma.customer.update({ where: { externalId: 'CUST-TAGGED' }, data: { tags: ['public-sector'] } });
    const agreed = await resolve('customerId=CUST-AGREED&audience=B2B&country=DE&currency=EUR&amount=100.00');
    expect(agreed.json.rule).toMatchObject({ kind: 'customer', detail: "the customer's agreed policy: segment-usd" });
    const tagged = await resolve('customerId=CUST-TAGGED&audience=B2B&country=DE&currency=EUR&amount=100.00');
    expect(tagged.json.rule).toMatchObject({ kind: 'rule', name: 'Public sector', position: 1 });
    expect(tagged.json.policy.id).toBe('segment-big');
    // Issuing reads the agreed policy from the catalogue (reloaded after POLICY_CACHE_SECONDS).
    await new Promise((r) => setTimeout(r, 1_100));
    const agreedInvoice = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { externalId: 'CUST-AGREED' }) });
    expect(agreedInvoice.json.policy).toEqual({ id: 'segment-usd', version: 1 });
    const taggedInvoice = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { externalId: 'CUST-TAGGED' }) });
    expect(taggedInvoice.json.policy).toEqual({ id: 'segment-big', version: 1 });

    // Issuing without a policy follows the rules, from the cache.
    const issued = await h.request('POST', '/v1/invoices', {
      body: invoiceRequest({}, { country: 'DE', timeZone: 'Europe/Berlin', phone: '+4915112345678', address: { lines: ['Hauptstr. 1'], postalCode: '10115', city: 'Berlin', country: 'DE' } }),
    });
    expect(issued.status, issued.text).toBe(201);
    expect(issued.json.policy).toEqual({ id: 'segment-de', version: 1 });

    const history = await h.request('GET', '/v1/policies/segment-de/changes');
    expect(history.json.changes.map((c: { action: string }) => c.action)).toContain('rules-replaced');
    // Leave no rule behind for the other tests.
    expect((await h.request('PUT', '/v1/policy-rules', { body: { rules: [] } })).status).toBe(200);
  });

  it('preview of a draft: the whole calendar in the customer time zone, every message rendered', async () => {
    await h.request('POST', '/v1/policies', { body: policyDoc('previewed', { sendWindow: { ...window, enabled: true } }) });
    await h.request('PUT', '/v1/policies/previewed/versions/1/templates/reminder-2/email/fr', {
      body: { subject: 'Deuxième rappel {{ invoice.number }}', body: 'Reste {{ amounts.totalClaim }} (intérêts {{ amounts.interest }}).' },
    });
    const r = await h.request('GET', '/v1/policies/previewed/versions/1/preview');
    expect(r.status, r.text).toBe(200);
    expect(r.json.policy.status).toBe('draft');
    expect(r.json.timeZone).toBe('Europe/Paris');
    expect(r.json.steps.map((s: { stepId: string }) => s.stepId)).toEqual(['reminder-1', 'reminder-2']);
    // Sample invoice due 2026-02-04: J+10 → 14 Feb (a Saturday) → Monday 16 Feb 09:00 Paris.
    expect(r.json.steps[0].at).toBe('2026-02-16T09:00:00.000+01:00');
    expect(r.json.steps[0].messages[0]).toMatchObject({ channel: 'email', source: 'built-in' });
    expect(r.json.steps[1].messages[0]).toMatchObject({ source: 'template', subject: 'Deuxième rappel F-2026-0042' });
    expect(r.json.steps[1].messages[0].text).toMatch(/^Reste 1[\s\u202f]2\d\d,\d\d[\s\u202f]€ \(intérêts \d+,\d\d[\s\u202f]€\)\.$/);
  });
});

describe('the policy catalogue', () => {
  it('answers from memory until a publish (or its time to live) invalidates it', async () => {
    const catalog = new PolicyCatalog(h.prisma, { ttlMs: 60_000, defaults: { B2B: 'fr-b2b-default', B2C: 'fr-b2c-default' } });
    const first = await catalog.snapshot();
    for (let i = 0; i < 20; i++) expect(await catalog.snapshot()).toBe(first);
    expect(catalog.loads).toBe(1);
    catalog.invalidate();
    expect(await catalog.snapshot()).not.toBe(first);
    expect(catalog.loads).toBe(2);
  });
});

describe('bulk migration', () => {
  it('moves 50 running invoices after a dry run; a second run changes nothing', async () => {
    await createAndPublish('bulk');
    const numbers: string[] = [];
    for (let i = 0; i < 50; i++) {
      const req = invoiceRequest({ policyId: 'bulk', dueDate: daysFromToday(20) });
      const r = await h.request('POST', '/v1/invoices', { body: req });
      expect(r.status, r.text).toBe(201);
      numbers.push(req.number);
    }
    // Version 2: the second reminder moves from J+25 to J+40.
    const v2 = await h.request('POST', '/v1/policies', {
      body: policyDoc('bulk', { steps: [
        { id: 'reminder-1', offset: 'P10D', channels: ['email'], templateId: 'reminder-1' },
        { id: 'reminder-2', offset: 'P40D', channels: ['email'], templateId: 'reminder-2' },
      ] }),
    });
    expect(v2.json.version).toBe(2);
    expect((await h.request('POST', '/v1/policies/bulk/versions/2/publish')).status).toBe(200);

    const dry = await h.request('POST', '/v1/policies/bulk/migrations', { body: { fromVersion: 1, toVersion: 2, dryRun: true } });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json.summary).toEqual({ total: 50, migrate: 50, unchanged: 0, skipped: 0 });
    expect(dry.json.items[0]).toMatchObject({ from: 'bulk@1', to: 'bulk@2', action: 'migrate', nextStepAfter: { stepId: 'reminder-1' } });
    // The dry run changed nothing.
    expect((await h.client.workflow.getHandle(workflowIdFor(numbers[0]!)).query(policyQuery)).version).toBe(1);

    const started = await h.request('POST', '/v1/policies/bulk/migrations', { body: { fromVersion: 1, toVersion: 2, reason: 'second reminder later' } });
    expect(started.status, started.text).toBe(202);
    const location = started.headers.get('location')!;
    const done = await eventually(async () => {
      const r = await h.request('GET', location);
      return r.json.status === 'completed' ? r.json : undefined;
    }, 60_000, 'the migration to complete');
    expect(done.progress).toMatchObject({ total: 50, done: 50, migrated: 50, refused: 0, pending: 0 });
    for (const n of [numbers[0]!, numbers[49]!]) {
      const p = await h.client.workflow.getHandle(workflowIdFor(n)).query(policyQuery);
      expect(p.version).toBe(2);
      expect(p.steps[1]!.offset).toBe('P40D');
    }

    const again = await h.request('POST', '/v1/policies/bulk/migrations', { body: { fromVersion: 1, toVersion: 2 } });
    expect(again.status).toBe(202);
    const second = await eventually(async () => {
      const r = await h.request('GET', again.headers.get('location')!);
      return r.json.status === 'completed' ? r.json : undefined;
    }, 30_000, 'the second run to complete');
    expect(second.id).not.toBe(done.id);
    expect(second.progress.migrated).toBe(0);
    // Each workflow recorded exactly one migration.
    const history = await h.client.workflow.getHandle(workflowIdFor(numbers[0]!)).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1);
  }, 180_000);
});

describe('the CLI', () => {
  it('creates a draft from a YAML file, saves a template, publishes and resolves through the API', async () => {
    const saved = { url: process.env.RELANCE_API_URL, key: process.env.RELANCE_API_KEY };
    process.env.RELANCE_API_URL = h.baseUrl;
    process.env.RELANCE_API_KEY = h.apiKey;
    const run = async (...argv: string[]) => {
      const lines: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
      const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
      try {
        return { code: await cli(argv), out: lines.join('\n') };
      } finally {
        log.mockRestore();
        err.mockRestore();
      }
    };
    try {
      const yamlFile = path.join(tmp, 'cli-policy.yml');
      await writeFile(yamlFile, (await import('yaml')).stringify(policyDoc('from-cli')));
      const created = await run('policies', 'create', yamlFile);
      expect(created.code, created.out).toBe(0);
      expect(JSON.parse(created.out)).toMatchObject({ id: 'from-cli', version: 1, status: 'draft' });
      const body = path.join(tmp, 'reminder.liquid');
      await writeFile(body, 'Bonjour {{ customer.name }}, {{ amounts.balance }}.');
      const template = await run('policies', 'template', 'from-cli', '1', 'reminder-1', 'email', 'fr', body, '--subject', 'Rappel {{ invoice.number }}');
      expect(template.code, template.out).toBe(0);
      const bad = path.join(tmp, 'bad.liquid');
      await writeFile(bad, 'Bonjour {{ client.name }}');
      const refused = await run('policies', 'template', 'from-cli', '1', 'reminder-1', 'email', 'fr', bad, '--subject', 'x');
      expect(refused.code).toBe(1);
      expect(refused.out).toContain('unknown variable \\"client.name\\"');
      expect((await run('policies', 'publish', 'from-cli', '1')).code).toBe(0);
      const resolved = await run('policies', 'resolve', '--policy', 'from-cli', '--audience', 'B2B', '--country', 'FR', '--currency', 'EUR', '--amount', '10.00');
      expect(JSON.parse(resolved.out).rule.kind).toBe('invoice');
      const changes = await run('policies', 'changes', 'from-cli');
      expect(JSON.parse(changes.out).changes.map((c: { action: string }) => c.action)).toEqual(['draft-created', 'template-created', 'published']);
    } finally {
      if (saved.url === undefined) delete process.env.RELANCE_API_URL;
      else process.env.RELANCE_API_URL = saved.url;
      if (saved.key === undefined) delete process.env.RELANCE_API_KEY;
      else process.env.RELANCE_API_KEY = saved.key;
    }
  });
});

describe('policy files', () => {
  it('a file-defined policy is read-only through the API, and one that conflicts with the database refuses to start, naming both', async () => {
    const dir = path.join(tmp, 'policies');
    await rm(dir, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(dir);
    const file = path.join(dir, 'from-git.yaml');
    const yaml = (name: string) =>
      [
        'id: from-git',
        'version: 1',
        `name: ${name}`,
        'audience: B2B',
        'steps:',
        '  - { id: reminder-1, offset: P10D, channels: [email], templateId: reminder-1 }',
        'sendWindow: { enabled: true, start: "09:00", end: "18:00", businessDaysOnly: true, skipPublicHolidays: true }',
        'penalties: { mode: commercial, spreadPoints: 10, fixedIndemnityMinor: 4000 }',
        'instalmentGrace: P5D',
        'maxInstalments: 12',
        'promiseGrace: P2D',
        'agencyListenFor: P180D',
        'templates:',
        '  - step: reminder-1',
        '    channel: email',
        '    language: fr',
        '    subject: "Rappel {{ invoice.number }}"',
        '    body: "Bonjour {{ customer.name }}"',
        '',
      ].join('\n');
    await writeFile(file, yaml('From git'));
    const start = (dirOverride = dir) =>
      startApi({ config: { ...h.config, POLICY_DIR: dirOverride, API_RECONCILE_INTERVAL_SECONDS: 0 }, prisma: h.prisma, temporal: h.client, port: 0, host: '127.0.0.1', workflowTaskQueue: `${h.taskQueuePrefix}${TaskQueues.workflow}` });

    const api = await start();
    await api.close();
    const listed = await h.request('GET', '/v1/policies/from-git');
    expect(listed.json).toMatchObject({ source: 'file', readOnly: true, latestPublished: 1 });
    const next = await h.request('POST', '/v1/policies', { body: policyDoc('from-git') });
    expect(next.status).toBe(409);
    expect(next.json.detail).toContain('policy file');

    // The same id@version with other content in the file: no start, both named.
    await writeFile(file, yaml('Edited in git'));
    await expect(start()).rejects.toThrow(new RegExp(`from-git@1: the file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} differs from the database's from-git@1`));

    // A database policy (created through the API) and a file defining the same id@version.
    await createAndPublish('db-first');
    const other = path.join(tmp, 'other');
    await (await import('node:fs/promises')).mkdir(other, { recursive: true });
    await writeFile(path.join(other, 'db-first.json'), JSON.stringify({ ...policyDoc('db-first', { name: 'File edition' }), version: 1 }));
    await expect(start(other)).rejects.toThrow(/db-first@1: the file .*db-first\.json differs from the database's db-first@1 \(published, source api, created by api-tests/);

    // Validation errors in files name the file and the path.
    const broken = path.join(tmp, 'broken');
    await (await import('node:fs/promises')).mkdir(broken, { recursive: true });
    await writeFile(path.join(broken, 'x.json'), JSON.stringify({ ...policyDoc('broken-file', { steps: [{ id: 'a', offset: 'soon', channels: ['email'], templateId: 'reminder-1' }] }), version: 1 }));
    await expect(start(broken)).rejects.toThrow(/x\.json: steps\[0\]\.offset: must be an ISO-8601 duration/);
  }, 60_000);
});
