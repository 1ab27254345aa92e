// A local fake of Twilio's Messages API, enough for the real `twilio` SDK:
//   POST /2010-04-01/Accounts/{AccountSid}/Messages.json   (form-encoded To, From, Body)
//   GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json
// with HTTP Basic auth (AccountSid:AuthToken), Twilio's JSON resource shape (sid "SM…",
// status "queued") and its error shape {code, message, more_info, status}.
// It honours `I-Twilio-Idempotency-Token`: the same token returns the same message (same
// sid) without sending a second one. Like Twilio's test credentials, the magic number
// +15005550001 is an invalid 'To' (error 21211). `failNext` queues forced failures
// (429 with Retry-After, 500...). `GET /` lists what was "sent", for humans.
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { escapeHtml, FakeState, fakeHandle, listen, page, table } from './common';
import type { FakeHandle } from './common';

export interface FakeSms {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  body: string;
  idempotencyToken?: string;
  /** Every form field as received. */
  params: Record<string, string>;
  /** Lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>;
  receivedAt: Date;
}

export interface TwilioFake extends FakeHandle {
  /** Messages accepted (one per idempotency token). */
  received: FakeSms[];
}

export interface TwilioFakeOptions {
  /** 0 = a free port. */
  port: number;
  host?: string;
  /** When set, only this AccountSid:AuthToken pair is accepted; otherwise any SID matching the path. */
  accountSid?: string;
  authToken?: string;
}

/** Twilio's error JSON. */
export function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

const DEFAULT_ERRORS: Record<number, [number, string]> = {
  400: [21211, "Invalid 'To' Phone Number"],
  401: [20003, 'Authenticate'],
  404: [20404, 'The requested resource was not found'],
  429: [20429, 'Too Many Requests'],
  500: [20500, 'Internal Server Error'],
  503: [20503, 'Service Unavailable'],
};

const E164 = /^\+[1-9]\d{6,14}$/;
const MAGIC_INVALID_TO = '+15005550001';

function rfc2822(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

function messageJson(m: FakeSms) {
  const date = rfc2822(m.receivedAt);
  const uri = `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: date,
    date_sent: null,
    date_updated: date,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.params.MessagingServiceSid ?? null,
    num_media: '0',
    num_segments: String(Math.max(1, Math.ceil(m.body.length / 153))),
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: 'queued',
    subresource_uris: { media: uri.replace('.json', '/Media.json') },
    to: m.to,
    uri,
  };
}

export async function startTwilioFake(options: TwilioFakeOptions): Promise<TwilioFake> {
  const host = options.host ?? '127.0.0.1';
  const state = new FakeState<FakeSms>();
  const received = state.items;

  const authorised = (req: Request, res: Response): boolean => {
    const header = req.get('authorization') ?? '';
    const [user, pass] = header.startsWith('Basic ')
      ? Buffer.from(header.slice(6), 'base64').toString('utf8').split(/:(.*)/s)
      : [];
    const ok =
      user === req.params.accountSid &&
      (options.accountSid === undefined || user === options.accountSid) &&
      (options.authToken === undefined || pass === options.authToken) &&
      Boolean(pass);
    if (!ok) {
      state.rejected += 1;
      res.setHeader('WWW-Authenticate', 'Basic realm="Twilio API"');
      res.status(401).json(twilioError(401, 20003, 'Authenticate'));
    }
    return ok;
  };

  const app = express();
  app.use(express.urlencoded({ extended: false }));

  app.post('/2010-04-01/Accounts/:accountSid/Messages.json', (req, res) => {
    const forced = state.answerForced(res, (status) => {
      const [code, message] = DEFAULT_ERRORS[status] ?? [20000 + status, 'Error'];
      return twilioError(status, code, message);
    });
    if (forced) return;
    if (!authorised(req, res)) return;
    const params = Object.fromEntries(Object.entries(req.body ?? {}).map(([k, v]) => [k, String(v)]));
    const token = req.get('i-twilio-idempotency-token') ?? undefined;
    if (token) {
      const previous = state.byKey.get(token);
      if (previous) {
        state.replays += 1;
        return void res.status(201).json(messageJson(previous));
      }
    }
    const { To: to, From: from, Body: body } = params;
    const refuse = (code: number, message: string) => res.status(400).json(twilioError(400, code, message));
    if (!to) return void refuse(21604, "A 'To' phone number is required.");
    if (!E164.test(to) || to === MAGIC_INVALID_TO) return void refuse(21211, `Invalid 'To' Phone Number: ${to}`);
    if (!from && !params.MessagingServiceSid) return void refuse(21603, "A 'From' phone number is required.");
    if (!body) return void refuse(21602, 'Message body is required.');
    if (body.length > 1600) return void refuse(21617, 'The concatenated message body exceeds the 1600 character limit.');

    const sid =
      'SM' +
      (token
        ? createHash('sha256').update(`${req.params.accountSid}/${token}`).digest('hex').slice(0, 32)
        : randomBytes(16).toString('hex'));
    const message: FakeSms = {
      sid,
      accountSid: String(req.params.accountSid),
      to,
      from: from ?? '',
      body,
      idempotencyToken: token,
      params,
      headers: { ...req.headers },
      receivedAt: new Date(),
    };
    received.push(message);
    if (token) state.byKey.set(token, message);
    res.status(201).json(messageJson(message));
  });

  app.get('/2010-04-01/Accounts/:accountSid/Messages/:sid.json', (req, res) => {
    if (!authorised(req, res)) return;
    const m = received.find((x) => x.sid === req.params.sid && x.accountSid === req.params.accountSid);
    if (!m) return void res.status(404).json(twilioError(404, 20404, 'The requested resource was not found'));
    res.json(messageJson(m));
  });

  app.get('/api/messages', (_req, res) => {
    res.json({ replays: state.replays, messages: received.map(messageJson) });
  });

  app.get('/', (_req, res) => {
    const rows = [...received].reverse().map((m) => [
      escapeHtml(m.receivedAt.toISOString()),
      escapeHtml(m.to),
      escapeHtml(m.from),
      `<pre>${escapeHtml(m.body)}</pre>`,
      `<code>${escapeHtml(m.sid)}</code>`,
    ]);
    const note = `<p class="muted">${received.length} SMS, ${state.replays} idempotent replay(s). <a href="/api/messages">JSON</a></p>`;
    res.type('html').send(page('Relance SMS (fake Twilio)', note + table(['received', 'to', 'from', 'body', 'sid'], rows)));
  });

  const server = await listen(app, options.port, host);
  return fakeHandle(state, server, `http://${host}:${server.port}`, { received });
}
