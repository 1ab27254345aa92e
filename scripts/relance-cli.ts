// npm run relance -- <command>
//   api-key create <name> --role <viewer|collector|admin>
//                                create an API key (the secret is printed once)
//   api-key list                 list keys (prefix, name, created, last used, revoked)
//   api-key revoke <id|prefix>   revoke a key
//   unmatched [--all]            list unmatched payments (open ones by default)
//   timeline <invoice-number>    an invoice's dunning events and communications
//   reconcile                    recreate invoice rows missing behind running workflows
//   policies …                   policies, templates, rules, migrations through the API (scripts/policies-cli.ts)
// Database: DATABASE_URL, or the embedded one `npm run dev` / `npm run db:start` serves on DB_PORT.
import { loadConfig } from '../config/index';
import { connectClient } from '../config/temporal';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { TaskQueues } from '../contracts/task-queues';
import { recordAudit } from '../api/audit';
import { API_KEY_ROLES, createApiKey, isApiKeyRole, revokeApiKey } from '../api/auth';
import { minorToDecimal } from '../api/format';
import { invoiceTimeline } from '../api/invoices';
import { reconcileInvoices } from '../api/invoice-service';
import { unmatchedDto } from '../api/payments';
import { Problem } from '../api/problem';
import { policiesCommand, POLICIES_USAGE } from './policies-cli';

const USAGE = `usage: npm run relance -- <command>
  api-key create <name> --role <viewer|collector|admin>
                               create an API key (printed once): viewer reads, collector
                               also runs ops actions, admin also keys, policies, erasure
  api-key list                 list API keys
  api-key revoke <id|prefix>   revoke an API key
  unmatched [--all]            list unmatched payments
  timeline <invoice-number>    show an invoice's timeline
  reconcile                    recreate invoice rows missing behind running workflows
${POLICIES_USAGE}`;

function table(rows: Array<Record<string, unknown>>): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i])).join('  ').trimEnd();
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

const CLI_ACTOR = { system: 'cli' };

async function apiKey(prisma: PrismaClient, [sub, arg, ...opts]: string[]): Promise<number> {
  if (sub === 'create' && arg) {
    const roleAt = opts.indexOf('--role');
    const role = roleAt >= 0 ? opts[roleAt + 1] : undefined;
    if (!role || !isApiKeyRole(role)) {
      console.error(`api-key create needs --role ${API_KEY_ROLES.join('|')}${role ? ` (not "${role}")` : ''}`);
      return 2;
    }
    const k = await createApiKey(prisma, arg, role);
    await recordAudit(prisma, { actor: CLI_ACTOR, action: 'apiKey.create', targetType: 'apiKey', targetId: k.id, detail: { name: k.name, prefix: k.prefix, role } });
    console.log(`API key "${k.name}" (${k.role}) created (id ${k.id}, prefix ${k.prefix}). Store it now, it is not shown again:`);
    console.log(k.key);
    return 0;
  }
  if (sub === 'list') {
    const keys = await prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
    table(
      keys.map((k) => ({
        id: k.id,
        prefix: k.prefix,
        name: k.name,
        role: k.role,
        created: k.createdAt.toISOString(),
        lastUsed: k.lastUsedAt?.toISOString() ?? '',
        revoked: k.revokedAt?.toISOString() ?? '',
      })),
    );
    return 0;
  }
  if (sub === 'revoke' && arg) {
    const n = await revokeApiKey(prisma, arg);
    if (n) await recordAudit(prisma, { actor: CLI_ACTOR, action: 'apiKey.revoke', targetType: 'apiKey', targetId: arg, detail: { revoked: n } });
    console.log(n ? `revoked ${n} key(s)` : 'no active key matches');
    return n ? 0 : 1;
  }
  console.error(USAGE);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  // Through the API: it validates, checks the key's role and records the change.
  if (command === 'policies') return policiesCommand(config, rest);
  const url = config.DATABASE_URL ?? `postgresql://postgres:postgres@127.0.0.1:${config.DB_PORT}/postgres`;
  const prisma = createPrisma(url, { max: 2 });
  try {
    switch (command) {
      case 'api-key':
        return await apiKey(prisma, rest);
      case 'unmatched': {
        const rows = await prisma.unmatchedPayment.findMany({
          where: rest.includes('--all') ? {} : { assignedTo: null },
          orderBy: { receivedAt: 'asc' },
        });
        table(
          rows.map(unmatchedDto).map((u) => ({
            id: u.id,
            received: u.receivedAt,
            source: u.source,
            externalId: u.externalId,
            invoice: u.invoiceNumber ?? '',
            amount: `${minorToDecimal(u.amountMinor, u.currency)} ${u.currency}`,
            reason: u.reason,
            assignedTo: u.assignedTo ?? '',
          })),
        );
        return 0;
      }
      case 'timeline': {
        if (!rest[0]) break;
        const t = await invoiceTimeline(prisma, rest[0]);
        table(
          t.entries.map((e) => ({
            at: e.at,
            kind: e.kind,
            type: e.type,
            detail: JSON.stringify(e.detail, (_k, v: unknown) => (v === null ? undefined : v)),
          })),
        );
        return 0;
      }
      case 'reconcile': {
        const client = await connectClient(config);
        try {
          const r = await reconcileInvoices({
            prisma,
            temporal: { client, taskQueue: TaskQueues.workflow, timeoutMs: config.API_TEMPORAL_TIMEOUT_MS },
          });
          console.log(`scanned ${r.scanned} running workflow(s); recreated ${r.recreated.length} row(s)${r.recreated.length ? ': ' + r.recreated.join(', ') : ''}`);
        } finally {
          await client.connection.close();
        }
        return 0;
      }
    }
    console.error(USAGE);
    return 2;
  } catch (err) {
    console.error(err instanceof Problem ? `${err.title}: ${err.detail ?? ''}` : err);
    return 1;
  } finally {
    await prisma.$disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
