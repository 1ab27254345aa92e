// Personal data is encrypted before it reaches Temporal: the dev server's own SQLite file
// holds no customer name, email, phone or street after an invoice's whole life through the
// API; staff decrypt through the codec endpoint with a collector key (refused without one,
// or with a viewer's); keys rotate (the endpoint runs with a new current key and still
// reads the history written with the old one); failure messages travel encrypted too.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError, encodeErrorToFailure, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../api/auth';
import { AesGcmCodec, relanceDataConverter } from '../../codec/index';
import { loadConfig } from '../../config/index';
import { eventually, invoiceRequest, readTestResponse, startApiHarness, type ApiHarness } from './harness';

const CUSTOMER = {
  name: 'Zéphyrine Quillard-Vasseur',
  email: 'zephyrine.quillard@example.test',
  phone: '+33698765432',
  street: '17 impasse des Glycines',
};
const localDevKey = loadConfig({ NODE_ENV: 'test' }).PAYLOAD_CODEC_KEYS[0];
const NEW_KEY = randomBytes(32);

let h: ApiHarness;
let dir: string;
const keys = { viewer: '', collector: '' };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'relance-codec-'));
  // Workers and clients encrypt with the process's key (local-dev); the API's codec endpoint
  // runs after a rotation: a new current key first, the old one still listed.
  h = await startApiHarness({
    temporalDbFile: path.join(dir, 'temporal.sqlite'),
    config: { PAYLOAD_CODEC_KEYS: `2026-12:${NEW_KEY.toString('base64')},${localDevKey.id}:${localDevKey.key.toString('base64')}` },
  });
  keys.viewer = (await createApiKey(h.prisma, 'codec-viewer', 'viewer')).key;
  keys.collector = (await createApiKey(h.prisma, 'codec-collector', 'collector')).key;
}, 120_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const codecCall = async (p: string, body: unknown, headers: Record<string, string> = {}) =>
  readTestResponse(await fetch(h.baseUrl + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
const bearer = (k: string) => ({ authorization: `Bearer ${k}` });
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const toJson = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

describe('payload codec', () => {
  let number = '';

  it("keeps the customer's personal data out of the Temporal server's database file", async () => {
    const req = invoiceRequest({}, { name: CUSTOMER.name, email: CUSTOMER.email, phone: CUSTOMER.phone, address: { lines: [CUSTOMER.street], postalCode: '33000', city: 'Bordeaux', country: 'FR' } });
    number = req.number;
    expect((await h.request('POST', '/v1/invoices', { body: req })).status).toBe(201);
    const base = `/v1/invoices/${number}`;
    expect((await h.request('POST', `${base}/pause`, { body: { reason: `called ${CUSTOMER.email}` } })).status).toBe(202);
    expect((await h.request('POST', `${base}/resume`, { body: { note: `spoke to ${CUSTOMER.name}` } })).status).toBe(202);
    // The API's own reads go through the codec transparently.
    const live = await eventually(async () => {
      const r = await h.request('GET', base);
      return r.json.live?.timeline.some((e: { type: string }) => e.type === 'resumed') ? r : undefined;
    }, 20_000, 'resumed');
    expect(live.json.customer.email).toBe(CUSTOMER.email);
    expect((await h.request('POST', `${base}/cancel`, { body: { reason: 'write-off', note: `${CUSTOMER.name} closed down` } })).status).toBe(202);
    await eventually(async () => (await h.client.workflow.getHandle(`invoice-${number}`).describe()).status.name !== 'RUNNING', 20_000, 'workflow closed');

    const files = (await readdir(dir)).filter((f) => f.startsWith('temporal.sqlite'));
    const bytes = Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(dir, f)))));
    // The file is the right one and is written: the workflow id (not personal) is in it.
    expect(bytes.includes(Buffer.from(`invoice-${number}`))).toBe(true);
    for (const secret of Object.values(CUSTOMER)) expect(bytes.includes(Buffer.from(secret, 'utf8')), secret).toBe(false);
    expect(bytes.includes(Buffer.from('Quillard'))).toBe(false);
  });

  it('decrypts through the codec endpoint with a collector key, with the key rotated; refuses without one', async () => {
    const history = await h.client.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: `invoice-${number}` } });
    const started = history.history!.events![0].workflowExecutionStartedEventAttributes!;
    const body = { payloads: started.input!.payloads!.map(toJson) };
    expect(unb64(body.payloads[0].metadata.encoding)).toBe('binary/encrypted');
    expect(unb64(body.payloads[0].metadata['encryption-key-id'])).toBe(localDevKey.id);

    expect((await codecCall('/codec/decode', body)).status).toBe(401);
    const viewer = await codecCall('/codec/decode', body, bearer(keys.viewer));
    expect(viewer.status).toBe(403);
    expect(viewer.json.detail).toContain('needs the collector role');

    const decoded = await codecCall('/codec/decode', body, bearer(keys.collector));
    expect(decoded.status).toBe(200);
    expect(unb64(decoded.json.payloads[0].metadata.encoding)).toBe('json/plain');
    const input = JSON.parse(unb64(decoded.json.payloads[0].data));
    expect(input.invoice.customer).toMatchObject({ name: CUSTOMER.name, email: CUSTOMER.email });

    // The Temporal UI's form: the key in the path (it cannot add a header), same role check.
    expect((await codecCall(`/codec/key/${keys.collector}/decode`, body)).json.payloads).toEqual(decoded.json.payloads);
    expect((await codecCall(`/codec/key/${keys.viewer}/decode`, body)).status).toBe(403);

    // New payloads are encrypted with the new current key and decode back.
    const plain = { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ email: CUSTOMER.email })) };
    const enc = await codecCall('/codec/encode', { payloads: [plain] }, bearer(keys.collector));
    expect(unb64(enc.json.payloads[0].metadata['encryption-key-id'])).toBe('2026-12');
    expect(unb64(enc.json.payloads[0].data)).not.toContain(CUSTOMER.email);
    expect((await codecCall('/codec/decode', enc.json, bearer(keys.collector))).json.payloads).toEqual([plain]);

    // Once the old key is removed from the configuration, its payloads are refused by name.
    const newOnly = new AesGcmCodec([{ id: '2026-12', key: NEW_KEY }]);
    await expect(newOnly.decode([{ metadata: { encoding: Buffer.from(unb64(body.payloads[0].metadata.encoding)), 'encryption-key-id': Buffer.from(localDevKey.id) }, data: Buffer.from(body.payloads[0].data, 'base64') }])).rejects.toThrow(/key "local-dev", which is not configured/);
    const tampered = { payloads: [{ ...body.payloads[0], metadata: { ...body.payloads[0].metadata, 'encryption-key-id': b64('2026-12') } }] };
    const bad = await codecCall('/codec/decode', tampered, bearer(keys.collector));
    expect(bad.status).toBe(422);
    expect(bad.json.detail).toMatch(/does not authenticate with key "2026-12"/);
  });

  it('answers the CORS preflight for the Temporal UI origin only', async () => {
    const pre = (origin: string) =>
      fetch(`${h.baseUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
      });
    const ui = await pre('http://127.0.0.1:8233');
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(ui.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await pre('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('encrypts failure messages (encodeCommonAttributes) and decodes them back', async () => {
    const converter = loadDataConverter(relanceDataConverter(loadConfig({ NODE_ENV: 'test' })));
    const failure = await encodeErrorToFailure(converter, ApplicationFailure.nonRetryable(`mailbox ${CUSTOMER.email} is full`, 'Bounce'));
    expect(failure.message).toBe('Encoded failure');
    expect(Buffer.from(failure.encodedAttributes!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(failure.encodedAttributes!.data!).includes(Buffer.from(CUSTOMER.email))).toBe(false);
    const back = await decodeOptionalFailureToOptionalError(converter, failure);
    expect(back?.message).toBe(`mailbox ${CUSTOMER.email} is full`);
  });
});
