// Rotating a payment-webhook secret without the sender's help: with two active secrets per
// source (current and next) the API accepts deliveries signed with either; once the old one
// is removed from WEBHOOK_SECRETS, only the new one.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { readTestResponse, signedDelivery, testConfig, useApiHarness, type ApiHarness } from './harness';

const OLD = 'bank-secret-2026-old';
const NEW = 'bank-secret-2026-new';

let h: ApiHarness;
useApiHarness((a) => (h = a), { workers: false, config: { WEBHOOK_SECRETS: JSON.stringify({ bank: [OLD, NEW] }) } });

let seq = 0;
const delivery = (secret: string) =>
  signedDelivery(
    { eventId: `evt-rot-${Date.now()}-${++seq}`, invoiceNumber: 'NO-SUCH-INVOICE', paymentId: `p-rot-${seq}`, amountMinor: 100, currency: 'EUR', receivedAt: new Date().toISOString() },
    { secret },
  );
const post = async (baseUrl: string, d: { raw: string; headers: Record<string, string> }) =>
  readTestResponse(await fetch(`${baseUrl}/v1/webhooks/payments`, { method: 'POST', headers: d.headers, body: d.raw }));

describe('webhook secret rotation', () => {
  it('accepts both secrets while two are active, then only the new one', async () => {
    expect((await post(h.baseUrl, delivery(OLD))).status).toBe(200);
    expect((await post(h.baseUrl, delivery(NEW))).status).toBe(200);
    expect((await post(h.baseUrl, delivery('a-third-secret-never-set'))).status).toBe(401);

    // Step 3 of the rotation: the old secret removed (an API process restarted with the new configuration).
    const app = createApp({ prisma: h.prisma, temporal: h.client, config: testConfig({ DATABASE_URL: h.config.DATABASE_URL!, WEBHOOK_SECRETS: JSON.stringify({ bank: NEW }) }), log: pino({ level: 'silent' }) });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const old = await post(base, delivery(OLD));
      expect(old.status).toBe(401);
      expect((await post(base, delivery(NEW))).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    expect(await h.prisma.unmatchedPayment.count({ where: { externalId: { startsWith: 'p-rot-' } } })).toBe(3);
  });

  it('refuses more than two secrets for a source, naming the variable', () => {
    expect(() => testConfig({ WEBHOOK_SECRETS: JSON.stringify({ bank: [OLD, NEW, 'one-more-secret'] }) })).toThrow(/WEBHOOK_SECRETS: .*\[current, next\]/);
  });
});
