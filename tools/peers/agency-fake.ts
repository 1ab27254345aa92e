// A local fake of the collection agency's intake endpoint. It accepts
//   POST /dossiers   (any path works: AGENCY_URL is the full URL)
//     Idempotency-Key: <workflowId>/agency-handover/agency   (required)
//     X-Relance-Signature: t=<unix>,v1=<hex hmac-sha256(secret, t + "." + raw body)>
//     Content-Type: application/json   (the dossier, files base64)
//   → 201 { caseId: "CASE-…", status: "received" }
//   → 200 the same, header `Idempotent-Replayed: true`, for a repeated Idempotency-Key
//   → 401 { error: { code: "invalid_signature", message } }  bad or stale (> 5 min) signature
//   → 400 { error: { code: "invalid_request", message } }
// verifying the signature over the exact bytes received, and keeps what it got (the
// decoded files too) for tests; `GET /` lists the dossiers for humans.
import { createHmac, timingSafeEqual } from 'node:crypto';
import express from 'express';
import { escapeHtml, FakeState, fakeHandle, listen, page, table } from './common';
import type { FakeHandle } from './common';

export interface ReceivedDossier {
  caseId: string;
  idempotencyKey: string;
  signature: string;
  receivedAt: Date;
  raw: string;
  dossier: Record<string, any>;
  files: Map<string, Buffer>;
}

export interface AgencyFake extends FakeHandle {
  /** Full intake URL (AGENCY_URL). */
  url: string;
  /** Dossiers accepted (one per Idempotency-Key). */
  received: ReceivedDossier[];
  /** Requests refused for their signature. */
  readonly rejectedSignatures: number;
}

const TOLERANCE_SECONDS = 300;

/** Checks `t=<unix>,v1=<hex>` against the raw body; false when absent, wrong or stale. */
export function verifySignature(secret: string, header: string | undefined, raw: string, nowSeconds = Date.now() / 1000): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(nowSeconds - t) > TOLERANCE_SECONDS || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${raw}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const apiError = (code: string, message: string) => ({ error: { code, message } });

export async function startAgencyFake(options: { port: number; host?: string; secret: string }): Promise<AgencyFake> {
  const host = options.host ?? '127.0.0.1';
  const state = new FakeState<ReceivedDossier>();
  const received = state.items;

  const app = express();
  app.get('/', (_req, res) => {
    const rows = [...received].reverse().map((d) => [
      escapeHtml(d.receivedAt.toISOString()),
      `<code>${escapeHtml(d.caseId)}</code>`,
      escapeHtml(d.dossier.invoice?.number),
      escapeHtml(d.dossier.debtor?.name),
      escapeHtml(d.dossier.totalClaim?.formatted),
      escapeHtml([...d.files.keys()].join(', ')),
    ]);
    res.type('html').send(page('Relance dossiers (fake collection agency)', table(['received', 'case', 'invoice', 'debtor', 'claim', 'files'], rows)));
  });

  app.post(/.*/, express.text({ type: '*/*', limit: '50mb' }), (req, res) => {
    if (state.answerForced(res, (status) => apiError('forced', `forced ${status}`))) return;
    const raw = typeof req.body === 'string' ? req.body : '';
    const signature = req.get('x-relance-signature') ?? '';
    if (!verifySignature(options.secret, signature, raw)) {
      state.rejected += 1;
      return void res.status(401).json(apiError('invalid_signature', 'X-Relance-Signature does not match the body'));
    }
    const key = req.get('idempotency-key');
    if (!key) return void res.status(400).json(apiError('invalid_request', 'Idempotency-Key header is required'));
    const previous = state.byKey.get(key);
    if (previous) {
      state.replays += 1;
      return void res.status(200).set('Idempotent-Replayed', 'true').json({ caseId: previous.caseId, status: 'received' });
    }
    let dossier: Record<string, any>;
    try {
      dossier = JSON.parse(raw);
    } catch {
      return void res.status(400).json(apiError('invalid_request', 'body is not JSON'));
    }
    const files = new Map<string, Buffer>();
    for (const f of Array.isArray(dossier.files) ? dossier.files : []) {
      if (typeof f?.name === 'string' && typeof f.contentBase64 === 'string') files.set(f.name, Buffer.from(f.contentBase64, 'base64'));
    }
    const entry: ReceivedDossier = {
      caseId: `CASE-${String(received.length + 1).padStart(5, '0')}`,
      idempotencyKey: key,
      signature,
      receivedAt: new Date(),
      raw,
      dossier,
      files,
    };
    received.push(entry);
    state.byKey.set(key, entry);
    res.status(201).json({ caseId: entry.caseId, status: 'received' });
  });

  const server = await listen(app, options.port, host);
  return fakeHandle(state, server, `http://${host}:${server.port}/dossiers`, {
    received,
    get rejectedSignatures() {
      return state.rejected;
    },
  });
}
