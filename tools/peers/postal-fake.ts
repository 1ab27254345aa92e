// A local fake of the postal provider Relance posts registered letters to. The API
// (what activities/letter.ts speaks; a real provider gets a small adapter to it):
//
//   POST /v1/letters
//     Authorization: Bearer <POSTAL_API_KEY>        (when the fake is given an apiKey)
//     Idempotency-Key: <workflowId>/<stepId>/letter   (required)
//     Content-Type: application/json
//     { reference, service: "registered_ar" | "registered" | "standard",
//       recipient: { name, addressLines[], postalCode, city, country },
//       sender:    { name, addressLines[], postalCode, city, country },
//       document:  { fileName, contentType: "application/pdf", sha256, contentBase64 },
//       metadata?: { ... } }
//   → 201 { id: "ltr_…", status: "accepted", service, trackingNumber: "1A…", reference, createdAt }
//   → 200 the same body, header `Idempotent-Replayed: true`, for a repeated Idempotency-Key
//   → 409 { error: { code: "idempotency_key_reused", message } } same key, different document
//   → 400 { error: { code: "invalid_request", message } }   missing fields, bad PDF
//   → 422 { error: { code: "invalid_address", message } }   address the post cannot deliver to
//   → 401 { error: { code: "unauthorized", message } }
//   → 429 / 5xx { error: { code, message } } (+ Retry-After), see failNext
//   GET /v1/letters/:id → the letter's JSON;  GET / → a page listing letters for humans.
// As with many real providers, a postal code "00000" is refused as undeliverable.
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import { escapeHtml, FakeState, fakeHandle, listen, page, table } from './common';
import type { FakeHandle } from './common';

export interface PostalLetter {
  id: string;
  status: 'accepted';
  service: string;
  trackingNumber: string;
  reference: string;
  createdAt: string;
  idempotencyKey: string;
  recipient: { name: string; addressLines: string[]; postalCode: string; city: string; country: string };
  sender: unknown;
  document: { fileName: string; sha256: string; bytes: Buffer };
  metadata?: unknown;
}

export interface PostalFake extends FakeHandle {
  /** Letters accepted (one per Idempotency-Key). */
  letters: PostalLetter[];
}

function letterJson(l: PostalLetter) {
  return {
    id: l.id,
    status: l.status,
    service: l.service,
    trackingNumber: l.trackingNumber,
    reference: l.reference,
    createdAt: l.createdAt,
  };
}

const apiError = (code: string, message: string) => ({ error: { code, message } });

export async function startPostalFake(options: { port: number; host?: string; apiKey?: string }): Promise<PostalFake> {
  const host = options.host ?? '127.0.0.1';
  const state = new FakeState<PostalLetter>();
  const letters = state.items;

  const app = express();
  app.use(express.json({ limit: '20mb' }));

  app.post('/v1/letters', (req, res) => {
    if (state.answerForced(res, (status) => apiError(status === 429 ? 'rate_limited' : 'server_error', `forced ${status}`))) return;
    if (options.apiKey && req.get('authorization') !== `Bearer ${options.apiKey}`) {
      state.rejected += 1;
      return void res.status(401).json(apiError('unauthorized', 'missing or wrong API key'));
    }
    const key = req.get('idempotency-key');
    if (!key) return void res.status(400).json(apiError('invalid_request', 'Idempotency-Key header is required'));
    const b = req.body as Record<string, any>;
    const doc = b?.document;
    const bytes = typeof doc?.contentBase64 === 'string' ? Buffer.from(doc.contentBase64, 'base64') : undefined;
    if (!bytes || bytes.subarray(0, 5).toString('latin1') !== '%PDF-') {
      return void res.status(400).json(apiError('invalid_request', 'document.contentBase64 must be a PDF'));
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (doc.sha256 && doc.sha256 !== sha256) return void res.status(400).json(apiError('invalid_request', 'document.sha256 does not match'));

    const previous = state.byKey.get(key);
    if (previous) {
      if (previous.document.sha256 !== sha256) {
        return void res.status(409).json(apiError('idempotency_key_reused', 'this Idempotency-Key was used for another document'));
      }
      state.replays += 1;
      return void res.status(200).set('Idempotent-Replayed', 'true').json(letterJson(previous));
    }
    const r = b.recipient;
    if (!r?.name || !Array.isArray(r.addressLines) || !r.postalCode || !r.city) {
      return void res.status(400).json(apiError('invalid_request', 'recipient needs name, addressLines, postalCode and city'));
    }
    if (r.postalCode === '00000') return void res.status(422).json(apiError('invalid_address', `no such postal code ${r.postalCode}`));

    const letter: PostalLetter = {
      id: `ltr_${randomBytes(8).toString('hex')}`,
      status: 'accepted',
      service: String(b.service ?? 'registered_ar'),
      trackingNumber: `1A${String(100_000_000_00 + letters.length + 1).padStart(11, '0')}`,
      reference: String(b.reference ?? key),
      createdAt: new Date().toISOString(),
      idempotencyKey: key,
      recipient: r,
      sender: b.sender,
      document: { fileName: String(doc.fileName ?? 'letter.pdf'), sha256, bytes },
      metadata: b.metadata,
    };
    letters.push(letter);
    state.byKey.set(key, letter);
    res.status(201).json(letterJson(letter));
  });

  app.get('/v1/letters/:id', (req, res) => {
    const l = letters.find((x) => x.id === req.params.id);
    if (!l) return void res.status(404).json(apiError('not_found', 'no such letter'));
    res.json(letterJson(l));
  });

  app.get('/v1/letters/:id/document', (req, res) => {
    const l = letters.find((x) => x.id === req.params.id);
    if (!l) return void res.sendStatus(404);
    res.type('application/pdf').send(l.document.bytes);
  });

  app.get('/', (_req, res) => {
    const rows = [...letters].reverse().map((l) => [
      escapeHtml(l.createdAt),
      escapeHtml([l.recipient.name, ...l.recipient.addressLines, `${l.recipient.postalCode} ${l.recipient.city}`].join(', ')),
      escapeHtml(l.service),
      `<code>${escapeHtml(l.trackingNumber)}</code>`,
      `<a href="/v1/letters/${l.id}/document">${escapeHtml(l.document.fileName)}</a>`,
    ]);
    res.type('html').send(page('Relance letters (fake postal provider)', table(['accepted', 'to', 'service', 'tracking', 'document'], rows)));
  });

  const server = await listen(app, options.port, host);
  return fakeHandle(state, server, `http://${host}:${server.port}`, { letters });
}
