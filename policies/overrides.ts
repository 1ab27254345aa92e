// The channel activities' side of templates as data: before rendering a message, look for
// a template saved for the invoice's policy version, step, channel and language; without
// one, the built-in pack renders it as before.
//
// One query per send finds the version the invoice runs now (the invoice row mirrors it,
// migrations included). A published version never changes, so its templates are read
// once per process and kept (keyed by content hash: a version deleted and re-created with
// other content is another key).
import { renderMessage, type RenderedMessage, type TemplateChannel } from '../domain/templates';
import type { DunningPolicy, Language } from '../domain/types';
import type { PrismaClient } from '../prisma/client';
import { renderTemplate, type ScopeArgs, type TemplateSource } from './templates';

interface VersionTemplates {
  templates: Map<string, TemplateSource>;
  penalties?: DunningPolicy['penalties'];
}

export interface TemplateOverrides {
  /** The saved template for this message, with the policy's penalty terms; undefined: use the built-in pack. */
  find(q: { invoiceNumber: string; step: string; channel: TemplateChannel; language: Language }): Promise<{ template: TemplateSource; penalties?: DunningPolicy['penalties'] } | undefined>;
}

const keyOf = (step: string, channel: string, language: string) => `${step}/${channel}/${language}`;

const perClient = new WeakMap<PrismaClient, TemplateOverrides>();

export function templateOverrides(prisma: PrismaClient): TemplateOverrides {
  let o = perClient.get(prisma);
  if (o) return o;
  const versions = new Map<string, Promise<VersionTemplates>>();
  const load = async (policyId: string, version: number): Promise<VersionTemplates> => {
    const [rows, v] = await Promise.all([
      prisma.policyTemplate.findMany({ where: { policyId, version } }),
      prisma.policyVersion.findUnique({ where: { policyId_version: { policyId, version } }, select: { definition: true } }),
    ]);
    return {
      templates: new Map(rows.map((r) => [keyOf(r.step, r.channel, r.language), { subject: r.subject, body: r.body }])),
      penalties: (v?.definition as unknown as DunningPolicy | undefined)?.penalties,
    };
  };
  o = {
    async find(q) {
      const rows = await prisma.$queryRaw<Array<{ policyId: string; policyVersion: number; contentHash: string; status: string }>>`
        SELECT i."policyId", i."policyVersion", v."contentHash", v."status"
        FROM "Invoice" i JOIN "PolicyVersion" v ON v."policyId" = i."policyId" AND v."version" = i."policyVersion"
        WHERE i."number" = ${q.invoiceNumber}`;
      const row = rows[0];
      // No row (an invoice not issued through the API, or its row not written yet): built-in.
      if (!row || row.status !== 'published') return undefined;
      const key = `${row.policyId}@${row.policyVersion}#${row.contentHash}`;
      let entry = versions.get(key);
      if (!entry) {
        entry = load(row.policyId, Number(row.policyVersion));
        entry.catch(() => versions.delete(key));
        if (versions.size > 500) versions.clear();
        versions.set(key, entry);
      }
      const v = await entry;
      const template = v.templates.get(keyOf(q.step, q.channel, q.language));
      return template ? { template, penalties: v.penalties } : undefined;
    },
  };
  perClient.set(prisma, o);
  return o;
}

/** A saved template when there is one, else the built-in pack. */
export async function renderWithOverrides(
  overrides: TemplateOverrides | undefined,
  args: Omit<ScopeArgs, 'penaltyMode' | 'spreadPoints'>,
): Promise<RenderedMessage> {
  const found = await overrides?.find({ invoiceNumber: args.invoice.number, step: args.step, channel: args.channel, language: args.language });
  if (!found) return renderMessage(args);
  return renderTemplate(found.template, { ...args, penaltyMode: found.penalties?.mode, spreadPoints: found.penalties?.spreadPoints });
}
