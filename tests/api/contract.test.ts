// The OpenAPI document tells the truth and the API does what it says, over HTTP: the cases
// a schema fuzzer found (an unknown policy id the document allowed, a well-formed unknown
// cursor, NUL characters, "[]" sent to the import) and 405 + Allow for a method a known
// path does not serve. The fuzz itself (all checks): tests/faults/api-fuzz.test.ts.
import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
let doc: any;
useApiHarness((a) => (h = a), { workers: false });
beforeAll(async () => {
  doc = (await h.request('GET', '/openapi.json', { auth: false })).json;
});

const schema = (name: string) => doc.components.schemas[name];

/** node:http, since fetch refuses TRACE. */
function raw(method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${h.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${h.apiKey}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the document says what the API enforces', () => {
  it('enumerates currencies and time zones; an unknown policy id (policies are data) is a 422 naming it', async () => {
    expect(schema('IssueInvoiceRequest').properties.currency.enum).toEqual(expect.arrayContaining(['EUR', 'JPY', 'USD']));
    expect(schema('CustomerInput').properties.timeZone.enum).toEqual(expect.arrayContaining(['Europe/Paris', 'UTC']));
    const r = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ policyId: '0' }) });
    expect(r.status).toBe(422);
    expect(r.json.errors).toEqual([{ field: 'policyId', message: expect.any(String) }]);
    expect(schema('IssueInvoiceRequest').properties.amount.pattern).toBeDefined();
    expect((await h.request('POST', '/v1/invoices', { body: invoiceRequest({ amount: '0' }) })).status).toBe(422);
  });

  it('a cursor is a uuid; a well-formed unknown one gives an empty page, not an error', async () => {
    const list = doc.paths['/v1/invoices'].get.parameters.find((p: { name: string }) => p.name === 'cursor');
    expect(list.schema.format).toBe('uuid');
    const r = await h.request('GET', '/v1/invoices?cursor=00000000-0000-4000-8000-000000000000');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ items: [], nextCursor: null });
    expect((await h.request('GET', '/v1/invoices?cursor=not-a-cursor')).status).toBe(422);
  });

  it('strings say they exclude U+0000; an unknown member holding one is dropped, a known one refused', async () => {
    expect(schema('ResumeRequest').properties.note.pattern).toBe('^[^\\u0000]*$');
    // A trimmed, required string: something else than blanks, and no NUL either.
    expect(schema('OpenDisputeRequest').properties.reason.pattern).toBe('^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$');
    const body = { ...invoiceRequest(), 'x\u0000': 'y\u0000' };
    const r = await h.request('POST', '/v1/invoices', { body });
    expect(r.status, r.text).toBe(201);
    const bad = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { name: 'A\u0000B' }) });
    expect(bad.status).toBe(422);
    expect(bad.json.errors).toEqual([{ field: 'customer.name', message: expect.stringMatching(/U\+0000/) }]);
  });

  it("a record's keys say they exclude U+0000 and their bound (found by the fuzz on /codec/decode)", async () => {
    const metadata = schema('CodecPayloads').properties.payloads.items.properties.metadata;
    const record = metadata.anyOf ? metadata.anyOf.find((s: { type?: unknown }) => s.type === 'object') : metadata;
    expect(record.propertyNames).toEqual({ type: 'string', maxLength: 200, pattern: '^[^\\u0000]*$' });
  });

  it('found by the all-checks fuzz: nullable components, flag-free patterns, cross-field rules said, cursors and bounds', async () => {
    // A customer's address may be null: anyOf [$ref, null] (allOf [$ref, {type: [object, null]}] refused null).
    expect(schema('CustomerRecord').properties.address.anyOf).toEqual([{ $ref: '#/components/schemas/PostalAddress' }, { type: 'null' }]);
    // Patterns are regex sources, not "/.../u".
    expect(schema('CustomerCreate').properties.tags.items.pattern).toBe('^[\\p{L}\\p{N} _.:/-]+$');
    expect(schema('ContactInput').anyOf).toEqual([{ required: ['email'] }, { required: ['phone'] }]);
    expect(doc.paths['/v1/policy-rules'].put.requestBody.content['application/json'].schema.properties.rules.items.properties.match.minProperties).toBe(1);
    expect(doc.paths['/v1/policies'].post.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['id', 'name', 'steps', 'sendWindow']));
    const customerCursor = doc.paths['/v1/customers'].get.parameters.find((p: { name: string }) => p.name === 'cursor');
    expect(customerCursor.schema.format).toBe('uuid');
    expect((await h.request('GET', '/v1/customers?cursor=00000000-0000-4000-8000-000000000000')).json).toEqual({ items: [], nextCursor: null });
    expect((await h.request('GET', '/v1/audit?cursor=9999999999999999999')).status).toBe(422);
    // An amount the pattern allows is never "too large" for the minor units.
    expect((await h.request('POST', '/v1/invoices', { body: invoiceRequest({ amount: '100000000000' }) })).json.errors).toEqual([{ field: 'amount', message: expect.stringMatching(/11 digits/) }]);
    // A duration past the calendar is a 422, not a 500.
    const policy = { id: 'far-away', name: 'x', audience: 'B2B', steps: [{ id: 'a', offset: 'P9999999Y', channels: ['email'], templateId: 'a' }], sendWindow: { enabled: false, start: '09:00', end: '18:00', businessDaysOnly: false, skipPublicHolidays: false }, penalties: { mode: 'none', spreadPoints: 0, fixedIndemnityMinor: 0 }, instalmentGrace: 'P5D', maxInstalments: 3, promiseGrace: 'P2D', agencyListenFor: 'P90D' };
    const far = await h.request('POST', '/v1/policies', { body: policy });
    expect(far.status, far.text).toBe(422);
    expect(far.json.errors).toEqual([{ field: 'steps[0].offset', message: expect.stringMatching(/too long/) }]);
  });

  it('a body the API does not require is not documented as required; "[]" to the import is the documented 400', async () => {
    expect(doc.paths['/v1/invoices/{number}/resume'].post.requestBody.required).toBe(false);
    expect(doc.paths['/v1/invoices/{number}/pause'].post.requestBody.required).toBe(true);
    const r = await h.request('POST', '/v1/invoices/import', { raw: '[]', headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(400);
    expect(doc.paths['/v1/invoices/import'].post.responses['400']).toBeDefined();
    expect(doc.components.schemas.PostalAddress.type).toBe('object'); // not made nullable by the response's use
  });
});

describe('methods', () => {
  it.each([
    ['TRACE', '/v1/invoices', 'GET, HEAD, OPTIONS, POST'],
    ['DELETE', '/v1/invoices/F-1', 'GET, HEAD, OPTIONS'],
    ['PUT', '/v1/invoices/import', 'OPTIONS, POST'],
    ['GET', '/v1/invoices/import', 'OPTIONS, POST'],
    ['PATCH', '/healthz', 'GET, HEAD, OPTIONS'],
  ])('%s %s: 405 with Allow: %s', async (method, path, allow) => {
    const r = await raw(method, path);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('OPTIONS lists the documented methods; an unknown path is still a 404', async () => {
    const r = await raw('OPTIONS', '/v1/imports');
    expect(r.status).toBe(204);
    expect(r.headers.allow).toBe('OPTIONS, POST');
    expect((await raw('TRACE', '/v1/nowhere')).status).toBe(404);
  });
});
