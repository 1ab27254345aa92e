// Classification of inbound mail (parsed by the real mailparser) and the VERP tokens.
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { communicationIdOfToken, parseReturnAddress, returnAddress, tokenFor } from '../../../contracts/reply-addresses';
import { classifyInbound, parseDeliveryStatus, replyExcerpt } from '../../../api/inbound/classify';
import { dsn } from '../../helpers/inbound-mail';

const mime = (headers: Record<string, string>, body = 'Bonjour,\r\nmerci.\r\n') =>
  Object.entries({ From: 'Jean <jean@dupont.example>', To: 'reply+x@inbound.test', Subject: 'Re: Facture F-1', 'Message-ID': '<m1@dupont.example>', ...headers })
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n') + `\r\n\r\n${body}`;

const classify = async (raw: string) => classifyInbound(await simpleParser(raw));

describe('classifyInbound', () => {
  it('a plain answer is a human reply', async () => {
    expect(await classify(mime({}))).toMatchObject({ kind: 'reply' });
  });

  it.each([
    [{ 'Auto-Submitted': 'auto-replied' }, 'Auto-Submitted: auto-replied'],
    [{ 'Auto-Submitted': 'auto-generated' }, 'Auto-Submitted: auto-generated'],
    [{ 'X-Autoreply': 'yes' }, 'X-Autoreply'],
    [{ Precedence: 'bulk' }, 'Precedence: bulk'],
    [{ Precedence: 'auto_reply' }, 'Precedence: auto_reply'],
    [{ Subject: 'Réponse automatique : Facture F-1' }, 'subject'],
    [{ Subject: 'Automatic reply: Invoice F-1' }, 'subject'],
    [{ Subject: 'Out of Office: Invoice F-1' }, 'subject'],
  ])('%j is an automatic reply', async (headers, by) => {
    expect(await classify(mime(headers))).toEqual({ kind: 'auto-reply', by });
  });

  it('Auto-Submitted: no is a human reply (RFC 3834)', async () => {
    expect(await classify(mime({ 'Auto-Submitted': 'no' }))).toMatchObject({ kind: 'reply' });
  });

  it('an RFC 3464 report with 5.x.x / failed is a permanent bounce, 4.x.x / delayed a transient one', async () => {
    expect(await classify(dsn({ recipient: 'nobody@dupont.example', action: 'failed', status: '5.1.1' }))).toEqual({
      kind: 'bounce',
      by: 'multipart/report delivery-status',
      bounce: { severity: 'permanent', recipient: 'nobody@dupont.example', status: '5.1.1', diagnostic: '550 5.1.1 mailbox unavailable' },
    });
    expect(await classify(dsn({ recipient: 'full@dupont.example', action: 'delayed', status: '4.2.2' }))).toMatchObject({
      kind: 'bounce',
      bounce: { severity: 'transient', recipient: 'full@dupont.example', status: '4.2.2' },
    });
  });

  it('reads the fields of a delivery-status block', () => {
    expect(parseDeliveryStatus('Final-Recipient: rfc822;<a@b.example>\nAction: failed\nStatus: 5.7.1')).toMatchObject({
      severity: 'permanent',
      recipient: 'a@b.example',
      status: '5.7.1',
    });
    expect(parseDeliveryStatus('nothing to see')).toBeUndefined();
  });

  it('the excerpt is the new text, without the quoted message', () => {
    expect(replyExcerpt('Nous avons payé hier.\n\nLe 3 déc. 2026, Relance a écrit :\n> Madame, Monsieur')).toBe('Nous avons payé hier.');
    expect(replyExcerpt('Paid.\n> quoted')).toBe('Paid.');
  });
});

describe('VERP tokens', () => {
  const config = { INBOUND_DOMAIN: 'Inbound.Test', INBOUND_TOKEN_SECRET: 'a-secret-of-16-chars-or-more' };
  const id = '0b7e5a52-8f0c-4a53-9d6e-3f1f0c9b2a11';

  it('round-trips, case-insensitively, and names the kind', () => {
    const reply = returnAddress(config, 'reply', id)!;
    expect(reply).toMatch(/^reply\+[0-9a-f]{44}@inbound\.test$/);
    expect(parseReturnAddress(config, reply.toUpperCase())).toEqual({ kind: 'reply', communicationId: id });
    expect(parseReturnAddress(config, returnAddress(config, 'bounce', id)!)).toEqual({ kind: 'bounce', communicationId: id });
  });

  it('an altered token, another secret or another domain matches nothing', () => {
    const token = tokenFor(config.INBOUND_TOKEN_SECRET, id);
    const altered = token.slice(0, 5) + (token[5] === '0' ? '1' : '0') + token.slice(6);
    expect(communicationIdOfToken(config.INBOUND_TOKEN_SECRET, altered)).toBeUndefined();
    expect(communicationIdOfToken('another-secret-of-16-chars', token)).toBeUndefined();
    expect(parseReturnAddress(config, `reply+${token}@elsewhere.test`)).toBeUndefined();
  });

  it('without INBOUND_DOMAIN there is no per-message address', () => {
    expect(returnAddress({ INBOUND_DOMAIN: undefined, INBOUND_TOKEN_SECRET: config.INBOUND_TOKEN_SECRET }, 'reply', id)).toBeUndefined();
  });
});
