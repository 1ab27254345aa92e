// Per-message addresses that route answers back (VERP): every reminder email carries
//   Reply-To:    reply+<token>@INBOUND_DOMAIN
//   Return-Path: bounce+<token>@INBOUND_DOMAIN   (the SMTP envelope sender)
// where <token> names the communication (its row id) plus a short HMAC tag, so a reply or
// a bounce is matched to the exact message without trusting the sender, and a guessed or
// altered token matches nothing. Hex only: mail systems may lower-case local parts.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/index';

const TAG_HEX = 12;
const UUID_HEX_RE = /^[0-9a-f]{32}$/;

export type ReturnKind = 'reply' | 'bounce';

function tagOf(secret: string, communicationId: string): string {
  return createHmac('sha256', secret).update(communicationId).digest('hex').slice(0, TAG_HEX);
}

export function tokenFor(secret: string, communicationId: string): string {
  const hex = communicationId.replace(/-/g, '').toLowerCase();
  if (!UUID_HEX_RE.test(hex)) throw new Error(`not a communication id: ${communicationId}`);
  return `${hex}${tagOf(secret, communicationId.toLowerCase())}`;
}

/** The communication id a token names, or undefined when it is malformed or its tag is wrong. */
export function communicationIdOfToken(secret: string, token: string): string | undefined {
  const t = token.toLowerCase();
  if (!/^[0-9a-f]+$/.test(t) || t.length !== 32 + TAG_HEX) return undefined;
  const hex = t.slice(0, 32);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const expected = Buffer.from(tagOf(secret, id), 'hex');
  const given = Buffer.from(t.slice(32), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

/** `reply+<token>@domain` / `bounce+<token>@domain`, or undefined without INBOUND_DOMAIN. */
export function returnAddress(config: Pick<Config, 'INBOUND_DOMAIN' | 'INBOUND_TOKEN_SECRET'>, kind: ReturnKind, communicationId: string): string | undefined {
  if (!config.INBOUND_DOMAIN) return undefined;
  return `${kind}+${tokenFor(config.INBOUND_TOKEN_SECRET, communicationId)}@${config.INBOUND_DOMAIN.toLowerCase()}`;
}

/** Reads a VERP address of ours: which kind and which communication, if any. */
export function parseReturnAddress(
  config: Pick<Config, 'INBOUND_DOMAIN' | 'INBOUND_TOKEN_SECRET'>,
  address: string,
): { kind: ReturnKind; communicationId: string } | undefined {
  if (!config.INBOUND_DOMAIN) return undefined;
  const m = /^(reply|bounce)\+([0-9a-z]+)@(.+)$/i.exec(address.trim());
  if (!m || m[3]!.toLowerCase() !== config.INBOUND_DOMAIN.toLowerCase()) return undefined;
  const communicationId = communicationIdOfToken(config.INBOUND_TOKEN_SECRET, m[2]!);
  return communicationId ? { kind: m[1]!.toLowerCase() as ReturnKind, communicationId } : undefined;
}
