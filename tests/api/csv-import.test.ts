// POST /v1/invoices/import over HTTP against the real database and a Temporal dev server:
// charsets (the bytes of a real ISO-8859-1 file, as a French spreadsheet saves it: ";",
// decimal commas, CRLF), BOM, and the all-or-nothing rule (a bad row anywhere and no
// invoice starts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { daysFromToday, useApiHarness, type ApiHarness } from './harness';

const LATIN1 = readFileSync(new URL('./fixtures/invoices-latin1.csv', import.meta.url));
const HEADER =
  'number,issue_date,due_date,amount,deposit,currency,customer_id,customer_name,customer_kind,customer_email,customer_phone,address_line1,postal_code,city,customer_country,language,time_zone';
const row = (n: string, amount = '100.00', name = 'Alpha SAS') =>
  `${n},${daysFromToday(0)},${daysFromToday(30)},${amount},0,EUR,CSV-${n},${name},B2B,a@alpha.example,,1 rue A,75001,Paris,FR,fr,Europe/Paris`;

let h: ApiHarness;
useApiHarness((a) => (h = a), { workers: false });

const csv = (body: string | Buffer, contentType = 'text/csv') =>
  h.request('POST', '/v1/invoices/import', { raw: body, headers: { 'content-type': contentType } });

async function workflowExists(number: string): Promise<boolean> {
  try {
    await h.client.workflow.getHandle(`invoice-${number}`).describe();
    return true;
  } catch {
    return false;
  }
}

describe('charsets', () => {
  it('refuses an undeclared ISO-8859-1 file naming the lines that are not UTF-8, and imports nothing', async () => {
    expect(LATIN1.includes(Buffer.from([0xe9]))).toBe(true); // "é" as one Latin-1 byte
    const r = await csv(LATIN1);
    expect(r.status).toBe(422);
    expect(r.json.detail).toMatch(/not valid UTF-8.*charset=iso-8859-1/);
    expect(r.json.errors).toEqual([2, 3, 4].map((l) => ({ field: `line ${l}`, message: expect.stringMatching(/not UTF-8/) })));
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: 'FL1-' } } })).toBe(0);
  });

  it('honours charset=iso-8859-1: names stored as written; ";" and decimal commas understood', async () => {
    const r = await csv(LATIN1, 'text/csv; charset=ISO-8859-1');
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ rows: 3, created: 3, existing: 0, failed: 0 });
    const customer = await h.prisma.customer.findUniqueOrThrow({ where: { externalId: 'CLI-HEL' } });
    expect(customer.name).toBe('Société Hélène Crème');
    expect(customer.addressLines).toEqual(["12 rue de l'Élysée"]);
    const invoices = await h.prisma.invoice.findMany({ where: { number: { startsWith: 'FL1-' } }, orderBy: { number: 'asc' } });
    expect(invoices.map((i) => [i.amountMinor, i.depositMinor])).toEqual([
      [123456n, 0n],
      [98000n, 8000n],
      [4550n, 0n],
    ]);
    const detail = await h.request('GET', '/v1/invoices/FL1-2026-002');
    expect(detail.json.customer.name).toBe('Brasserie François & Fils');

    // windows-1252 is a superset for these bytes; a re-upload creates nothing twice.
    const again = await csv(LATIN1, 'text/csv; charset=windows-1252');
    expect(again.json).toMatchObject({ rows: 3, created: 0, existing: 3 });
  });

  it('accepts a UTF-8 BOM and refuses an unknown charset', async () => {
    const n = `BOM-${Date.now().toString(36)}`;
    const text = `\ufeff${HEADER.replace(/,/g, ';')}\r\n${row(n, 'AMOUNT', 'Zoé Müller').replace(/,/g, ';').replace('AMOUNT', '1 500,25')}\r\n`;
    const r = await csv(Buffer.from(text, 'utf8'));
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({ rows: 1, created: 1 });
    const inv = await h.prisma.invoice.findUniqueOrThrow({ where: { number: n }, include: { customer: true } });
    expect([inv.amountMinor, inv.customer.name]).toEqual([150025n, 'Zoé Müller']);

    const unknown = await csv(Buffer.from(text, 'utf8'), 'text/csv; charset=klingon-8');
    expect(unknown.status).toBe(415);
  });
});

describe('all or nothing', () => {
  it.each([1, 3])('a header, %i good rows, then a row with one column too many: 400 naming the line, no invoice, no workflow', async (k) => {
    const n = `MAL${k}-${Date.now().toString(36)}`;
    const good = Array.from({ length: k }, (_, i) => row(`${n}-${i}`));
    const body = [HEADER, ...good, `${row(`${n}-bad`)},extra`].join('\n');
    const r = await csv(body);
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual([{ field: `line ${k + 2}`, message: expect.stringMatching(/column/i) }]);
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: n } } })).toBe(0);
    for (let i = 0; i < k; i++) expect(await workflowExists(`${n}-${i}`)).toBe(false);
  });

  it('one invalid row anywhere: 422 listing every bad line and column, and nothing issued', async () => {
    const n = `INV-${Date.now().toString(36)}`;
    const body = [HEADER, row(`${n}-1`), row(`${n}-2`, '99.999'), row(`${n}-3`), row(`${n}-4`, '12,3,4'), row(`${n}-1`, '5.00')].join('\n');
    const r = await csv(body);
    expect(r.status).toBe(400); // "12,3,4" unquoted shifts the columns: malformed, by line
    const quoted = [HEADER, row(`${n}-1`), row(`${n}-2`, '99.999'), row(`${n}-3`), row(`${n}-1`, '5.00')].join('\n');
    const q = await csv(quoted);
    expect(q.status).toBe(422);
    expect(q.json.errors).toEqual([
      { field: 'line 3: amount', message: expect.stringMatching(/decimals/) },
      { field: 'line 5: number', message: 'already on line 2 with different content' },
    ]);
    expect(q.json.results).toEqual([
      { line: 3, number: `${n}-2`, status: 'error', errors: [{ field: 'amount', message: expect.any(String) }] },
      { line: 5, number: `${n}-1`, status: 'error', errors: [{ field: 'number', message: expect.any(String) }] },
    ]);
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: n } } })).toBe(0);
    expect(await workflowExists(`${n}-1`)).toBe(false);

    // A number already issued with other content is refused before anything starts, too.
    const first = await csv([HEADER, row(`${n}-9`)].join('\n'));
    expect(first.json).toMatchObject({ created: 1 });
    const clash = await csv([HEADER, row(`${n}-8`), row(`${n}-9`, '1.00')].join('\n'));
    expect(clash.status).toBe(422);
    expect(clash.json.errors).toEqual([{ field: 'line 3: number', message: 'was already issued with different content' }]);
    expect(await workflowExists(`${n}-8`)).toBe(false);
  });

  it('a NUL byte in a cell fails the file naming the column, before any workflow starts', async () => {
    const n = `NUL-${Date.now().toString(36)}`;
    const r = await csv([HEADER, row(`${n}-1`), row(`${n}-2`, '100.00', 'Eps\u0000ilon')].join('\n'));
    expect(r.status).toBe(422);
    expect(r.json.errors).toEqual([{ field: 'line 3: customer_name', message: expect.stringMatching(/U\+0000/) }]);
    expect(await workflowExists(`${n}-1`)).toBe(false);
  });

  it('refuses what is not an invoice CSV: a JSON body, "[]" as text/csv, too many rows for the synchronous endpoint', async () => {
    expect((await h.request('POST', '/v1/invoices/import', { body: { number: 1 } })).status).toBe(415);
    const brackets = await csv('[]');
    expect(brackets.status).toBe(400);
    expect(brackets.json.detail).toMatch(/lacks the column/);
    expect((await csv('number,amount\n"unclosed,1\n')).status).toBe(400);
    const many = [HEADER, ...Array.from({ length: h.config.IMPORT_SYNC_MAX_ROWS + 1 }, (_, i) => row(`MANY-${i}`))].join('\n');
    const tooMany = await csv(many);
    expect(tooMany.status).toBe(413);
    expect(tooMany.json.detail).toMatch(/POST \/v1\/imports/);
  });
});
