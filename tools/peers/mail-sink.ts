// A local SMTP sink with a small web inbox: the embedded start sends its reminders
// here, and the channel tests read what arrived (headers, text, attachments).
//
// Like a careful receiving system it drops a message whose Message-ID it already
// holds: `duplicates` counts those, so a test can tell "resent, and deduplicated"
// from "sent once". Most real servers do not: `dropDuplicates: false` stores repeats
// too (still counted), and `acceptDelayMs` stores a message, then answers its 250 late,
// as a slow server does (a client that gives up first cannot know it was taken). `replyWith(code)` makes it refuse the next message(s) with an
// SMTP 4xx (try again later) or 5xx (permanent) reply, at RCPT TO or at end of DATA.
import express from 'express';
import { simpleParser } from 'mailparser';
import type { AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { escapeHtml, listen, page, table } from './common';

export interface SinkAttachment {
  filename?: string;
  contentType: string;
  size: number;
  content: Buffer;
}

/** What the sink keeps of a received message (a digest of mailparser's ParsedMail). */
export interface SinkMessage {
  /** Sequence number in this sink, for the web inbox. */
  id: number;
  messageId?: string;
  from?: string;
  to: string[];
  replyTo?: string;
  subject?: string;
  date?: Date;
  receivedAt: Date;
  text?: string;
  html?: string;
  attachments: SinkAttachment[];
  /** Lower-cased header name → value as mailparser gives it. */
  headers: Map<string, unknown>;
  envelope: { from?: string; to: string[] };
  raw: Buffer;
}

export interface ReplyWithOptions {
  /** How many messages get this reply. Default 1. */
  count?: number;
  /** When to refuse: at RCPT TO (bad mailbox) or after DATA (default). */
  phase?: 'rcpt' | 'data';
  message?: string;
}

export interface MailSink {
  smtpPort: number;
  webPort: number;
  /** Base URL of the web inbox. */
  url: string;
  messages(): SinkMessage[];
  /** Messages refused because their Message-ID had already been received. */
  readonly duplicates: number;
  clear(): void;
  replyWith(code: number, options?: ReplyWithOptions): void;
  /** Changes the delay of the 250 after DATA for the next messages. */
  setAcceptDelay(ms: number): void;
  stop(): Promise<void>;
}

export interface MailSinkOptions {
  /** 0 = a free port. */
  smtpPort: number;
  webPort: number;
  host?: string;
  /** Default true: a repeated Message-ID is accepted and dropped. False: stored again. */
  dropDuplicates?: boolean;
  /** Milliseconds between storing a message and answering its 250 (default 0). */
  acceptDelayMs?: number;
}

interface PendingReply {
  code: number;
  phase: 'rcpt' | 'data';
  message: string;
  left: number;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function addressText(a: AddressObject | AddressObject[] | undefined): string[] {
  if (!a) return [];
  const list = Array.isArray(a) ? a : [a];
  return list.flatMap((o) => o.value.map((v) => v.address ?? '')).filter(Boolean);
}

export async function startMailSink(options: MailSinkOptions): Promise<MailSink> {
  const host = options.host ?? '127.0.0.1';
  const stored: SinkMessage[] = [];
  const seenIds = new Set<string>();
  const replies: PendingReply[] = [];
  let duplicates = 0;
  let sequence = 0;
  let acceptDelayMs = options.acceptDelayMs ?? 0;
  const dropDuplicates = options.dropDuplicates ?? true;
  const accept = (callback: () => void) => (acceptDelayMs > 0 ? setTimeout(callback, acceptDelayMs) : callback());

  const takeReply = (phase: 'rcpt' | 'data'): PendingReply | undefined => {
    const reply = replies[0];
    if (!reply || reply.phase !== phase) return undefined;
    if (--reply.left <= 0) replies.shift();
    return reply;
  };

  const smtp = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 25 * 1024 * 1024,
    closeTimeout: 1000,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'sink' });
    },
    onRcptTo(_address: SMTPServerAddress, _session, callback) {
      const reply = takeReply('rcpt');
      callback(reply ? smtpError(reply.code, reply.message) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const reply = takeReply('data');
        if (reply) return callback(smtpError(reply.code, reply.message));
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then((parsed) => {
            const messageId = parsed.messageId;
            if (messageId && seenIds.has(messageId)) {
              duplicates += 1;
              if (dropDuplicates) return accept(() => callback()); // accepted, and dropped as a duplicate
            }
            if (messageId) seenIds.add(messageId);
            stored.push({
              id: ++sequence,
              messageId,
              from: parsed.from?.text,
              to: addressText(parsed.to),
              replyTo: parsed.replyTo?.text,
              subject: parsed.subject,
              date: parsed.date,
              receivedAt: new Date(),
              text: parsed.text,
              html: typeof parsed.html === 'string' ? parsed.html : undefined,
              attachments: parsed.attachments.map((a) => ({
                filename: a.filename,
                contentType: a.contentType,
                size: a.size,
                content: a.content,
              })),
              headers: parsed.headers as Map<string, unknown>,
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              raw,
            });
            accept(() => callback());
          })
          .catch((err: Error) => callback(smtpError(451, `could not parse message: ${err.message}`)));
      });
    },
  });
  smtp.on('error', () => {}); // a client dropping its connection must not crash the sink

  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(options.smtpPort, host, () => resolve());
  });
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const app = express();
  app.get('/', (_req, res) => {
    const rows = [...stored].reverse().map((m) => [
      `<a href="/messages/${m.id}">${escapeHtml(m.subject ?? '(no subject)')}</a>`,
      escapeHtml(m.to.join(', ')),
      escapeHtml(m.from),
      escapeHtml((m.date ?? m.receivedAt).toISOString()),
      m.attachments.length ? String(m.attachments.length) : '',
    ]);
    const note = `<p class="muted">${stored.length} message(s), ${duplicates} duplicate(s) dropped by Message-ID. ` +
      `<a href="/api/messages">JSON</a></p>`;
    res.type('html').send(page('Relance inbox', note + table(['subject', 'to', 'from', 'date', 'files'], rows)));
  });
  app.get('/api/messages', (_req, res) => {
    res.json({
      duplicates,
      messages: stored.map((m) => ({
        id: m.id,
        messageId: m.messageId,
        from: m.from,
        to: m.to,
        replyTo: m.replyTo,
        subject: m.subject,
        date: m.date,
        receivedAt: m.receivedAt,
        text: m.text,
        attachments: m.attachments.map((a, i) => ({
          filename: a.filename,
          contentType: a.contentType,
          size: a.size,
          url: `/messages/${m.id}/attachments/${i}`,
        })),
      })),
    });
  });
  app.get('/messages/:id', (req, res) => {
    const m = stored.find((x) => String(x.id) === req.params.id);
    if (!m) return void res.status(404).type('html').send(page('Not found', '<p><a href="/">inbox</a></p>'));
    const files = m.attachments
      .map((a, i) => `<li><a href="/messages/${m.id}/attachments/${i}">${escapeHtml(a.filename ?? `attachment-${i}`)}</a> (${a.size} bytes)</li>`)
      .join('');
    const body = m.html
      ? `<iframe sandbox="" srcdoc="${escapeHtml(m.html)}"></iframe>`
      : `<pre>${escapeHtml(m.text)}</pre>`;
    res.type('html').send(
      page(
        m.subject ?? '(no subject)',
        `<p><a href="/">← inbox</a></p><p>From: ${escapeHtml(m.from)}<br>To: ${escapeHtml(m.to.join(', '))}<br>` +
          `Reply-To: ${escapeHtml(m.replyTo)}<br>Date: ${escapeHtml(m.date?.toISOString())}<br>` +
          `Message-ID: <code>${escapeHtml(m.messageId)}</code></p>` +
          (files ? `<ul>${files}</ul>` : '') +
          body +
          `<details><summary>plain text</summary><pre>${escapeHtml(m.text)}</pre></details>`,
      ),
    );
  });
  app.get('/messages/:id/attachments/:index', (req, res) => {
    const m = stored.find((x) => String(x.id) === req.params.id);
    const a = m?.attachments[Number(req.params.index)];
    if (!a) return void res.sendStatus(404);
    res.type(a.contentType);
    if (a.filename) res.setHeader('Content-Disposition', `inline; filename="${a.filename.replace(/"/g, '')}"`);
    res.send(a.content);
  });

  let web;
  try {
    web = await listen(app, options.webPort, host);
  } catch (err) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    smtpPort,
    webPort: web.port,
    url: `http://${host}:${web.port}`,
    messages: () => [...stored],
    get duplicates() {
      return duplicates;
    },
    clear() {
      stored.length = 0;
      seenIds.clear();
      replies.length = 0;
      duplicates = 0;
    },
    replyWith(code, opts = {}) {
      replies.push({
        code,
        phase: opts.phase ?? 'data',
        message: opts.message ?? (code >= 500 ? 'Requested action not taken: rejected' : 'Try again later'),
        left: opts.count ?? 1,
      });
    },
    setAcceptDelay(ms) {
      acceptDelayMs = ms;
    },
    stop() {
      stopped ??= Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        web.close(),
      ]).then(() => undefined);
      return stopped;
    },
  };
}
