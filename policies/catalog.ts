// Which policy an invoice gets, read through an in-process cache of the published
// policies and the assignment rules. Issuing an invoice asks the cache, not the database:
// it reloads (two queries) when this process publishes or changes rules, and otherwise at
// most every POLICY_CACHE_SECONDS (what another API process published is seen that late).
//
// Order: the policy named on the invoice ("id" = its latest published version, or
// "id@version"), the customer's agreed policy, then the segment rules in position order
// (B2B/B2C, country, currency, amount range, customer tag, customer risk class: every
// condition a rule sets must hold), then the configured default per audience.
import { z } from 'zod';
import { parseDecimalToMinor } from '../domain/money';
import { RISK_CLASSES, type RiskClass } from '../domain/payment-behaviour';
import { policyAudienceMismatch } from '../domain/policy-schema';
import type { Audience, DunningPolicy } from '../domain/types';
import type { PrismaClient } from '../prisma/client';
import { seedBuiltinPolicies } from './store';

export const RuleMatchSchema = z
  .strictObject({
    audience: z.enum(['B2B', 'B2C']).optional(),
    country: z.string().regex(/^[A-Z]{2}$/, { error: 'must be an ISO 3166-1 alpha-2 code (e.g. FR)' }).optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code (e.g. EUR)' }).optional(),
    minAmount: z.string().regex(/^\d+(\.\d+)?$/, { error: 'must be a decimal amount such as "1000.00"' }).optional(),
    maxAmount: z.string().regex(/^\d+(\.\d+)?$/, { error: 'must be a decimal amount such as "1000.00"' }).optional(),
    tag: z.string().min(1).max(100).optional(),
    /** The customer's risk class from its payment behaviour (api/customer-behaviour.ts). */
    riskClass: z.enum(RISK_CLASSES).optional(),
  })
  .refine((m) => Object.keys(m).length > 0, { error: 'a rule needs at least one condition' });
export type RuleMatch = z.infer<typeof RuleMatchSchema>;

export interface PolicyRuleView {
  id: string;
  position: number;
  name: string;
  policyId: string;
  match: RuleMatch;
}

export interface ResolveInput {
  /** Named on the invoice: "id" or "id@version". */
  policyId?: string;
  /** The customer's agreed policy, if any. */
  customerPolicyId?: string | null;
  audience: Audience;
  country: string;
  currency: string;
  amountMinor: number;
  tags?: readonly string[];
  /** The customer's risk class; a riskClass rule does not match without one. */
  riskClass?: RiskClass;
}

export type ChosenBy =
  | { kind: 'invoice'; detail: string }
  | { kind: 'customer'; detail: string }
  | { kind: 'rule'; detail: string; ruleId: string; position: number; name: string }
  | { kind: 'default'; detail: string };

export interface Resolution {
  policy: DunningPolicy;
  chosenBy: ChosenBy;
}

export class ResolveError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class PolicySnapshot {
  constructor(
    /** Published versions by "id@version". */
    readonly versions: ReadonlyMap<string, DunningPolicy>,
    /** The latest published version of each id. */
    readonly latest: ReadonlyMap<string, DunningPolicy>,
    readonly rules: readonly PolicyRuleView[],
    readonly defaults: { B2B: string; B2C: string },
    /** Customers (external id) with an agreed policy: few, so kept whole. */
    readonly agreedPolicies: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Whether a rule reads customer tags (then issuing looks the customer's tags up). */
  get usesTags(): boolean {
    return this.rules.some((r) => r.match.tag !== undefined);
  }

  /** Whether a rule reads the customer's risk class (then issuing computes it). */
  get usesRiskClass(): boolean {
    return this.rules.some((r) => r.match.riskClass !== undefined);
  }

  /** A published policy by "id" (latest) or "id@version"; undefined when none. */
  find(ref: string): DunningPolicy | undefined {
    const at = ref.lastIndexOf('@');
    const policy = at > 0 ? this.versions.get(ref) : this.latest.get(ref);
    return policy && (JSON.parse(JSON.stringify(policy)) as DunningPolicy);
  }

  private named(ref: string, field: string): DunningPolicy {
    const p = this.find(ref);
    if (!p) {
      throw new ResolveError(field, `no published policy ${JSON.stringify(ref)}; published: ${[...this.latest.keys()].sort().join(', ')}`);
    }
    return p;
  }

  resolve(input: ResolveInput): Resolution {
    if (input.policyId) {
      return { policy: this.named(input.policyId, 'policyId'), chosenBy: { kind: 'invoice', detail: `named on the invoice: ${input.policyId}` } };
    }
    if (input.customerPolicyId) {
      return {
        policy: this.named(input.customerPolicyId, 'customer.policyId'),
        chosenBy: { kind: 'customer', detail: `the customer's agreed policy: ${input.customerPolicyId}` },
      };
    }
    for (const rule of this.rules) {
      if (!matches(rule.match, input)) continue;
      const policy = this.find(rule.policyId);
      // A rule pointing at an unpublished policy, or at one written for the other kind of
      // customer (the law differs), is passed over, not fatal.
      if (!policy || policyAudienceMismatch(policy, input.audience)) continue;
      return {
        policy,
        chosenBy: { kind: 'rule', ruleId: rule.id, position: rule.position, name: rule.name, detail: `rule ${rule.position} "${rule.name}": ${describeMatch(rule.match)}` },
      };
    }
    const id = this.defaults[input.audience];
    return { policy: this.named(id, 'policyId'), chosenBy: { kind: 'default', detail: `default policy for ${input.audience} customers: ${id}` } };
  }
}

function toMinor(decimal: string, currency: string): number | undefined {
  try {
    return parseDecimalToMinor(decimal, currency);
  } catch {
    return undefined;
  }
}

export function matches(m: RuleMatch, input: ResolveInput): boolean {
  if (m.audience && m.audience !== input.audience) return false;
  if (m.country && m.country !== input.country.toUpperCase()) return false;
  if (m.currency && m.currency !== input.currency.toUpperCase()) return false;
  if ((m.minAmount !== undefined || m.maxAmount !== undefined) && !Number.isFinite(input.amountMinor)) return false;
  if (m.minAmount !== undefined) {
    const min = toMinor(m.minAmount, input.currency);
    if (min === undefined || input.amountMinor < min) return false;
  }
  if (m.maxAmount !== undefined) {
    const max = toMinor(m.maxAmount, input.currency);
    if (max === undefined || input.amountMinor > max) return false;
  }
  if (m.tag && !(input.tags ?? []).includes(m.tag)) return false;
  if (m.riskClass && m.riskClass !== input.riskClass) return false;
  return true;
}

export function describeMatch(m: RuleMatch): string {
  const parts: string[] = [];
  if (m.audience) parts.push(m.audience);
  if (m.country) parts.push(`country ${m.country}`);
  if (m.currency) parts.push(`currency ${m.currency}`);
  if (m.minAmount || m.maxAmount) parts.push(`amount ${m.minAmount ?? '0'}..${m.maxAmount ?? '∞'}`);
  if (m.tag) parts.push(`tag ${m.tag}`);
  if (m.riskClass) parts.push(`risk class ${m.riskClass}`);
  return parts.join(', ');
}

export class PolicyCatalog {
  private current?: { snapshot: PolicySnapshot; at: number };
  private loading?: Promise<PolicySnapshot>;
  private seeded = false;
  private generation = 0;
  /** Reloads from the database (tests and metrics read it). */
  loads = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: { ttlMs: number; defaults: { B2B: string; B2C: string } },
  ) {}

  /** Drops the cached snapshot: the next read reloads (publish, rule changes, deletes). */
  invalidate(): void {
    // A load already under way may have read the old rows: it must not become current.
    this.generation += 1;
    this.current = undefined;
    this.loading = undefined;
  }

  async snapshot(): Promise<PolicySnapshot> {
    const c = this.current;
    if (c && Date.now() - c.at < this.opts.ttlMs) return c.snapshot;
    if (this.loading) return this.loading;
    const loading = this.load().finally(() => {
      if (this.loading === loading) this.loading = undefined;
    });
    this.loading = loading;
    return loading;
  }

  private async load(): Promise<PolicySnapshot> {
    const generation = this.generation;
    // The shipped policies are seed data: make sure they are there (once per process).
    if (!this.seeded) {
      await seedBuiltinPolicies(this.prisma);
      this.seeded = true;
    }
    const started = Date.now();
    const [versions, rules, agreed] = await Promise.all([
      this.prisma.policyVersion.findMany({ where: { status: 'published' }, select: { policyId: true, version: true, definition: true } }),
      this.prisma.policyRule.findMany({ orderBy: { position: 'asc' } }),
      this.prisma.customer.findMany({ where: { agreedPolicyId: { not: null } }, select: { externalId: true, agreedPolicyId: true } }),
    ]);
    this.loads += 1;
    const byKey = new Map<string, DunningPolicy>();
    const latest = new Map<string, DunningPolicy>();
    for (const v of versions) {
      const policy = v.definition as unknown as DunningPolicy;
      byKey.set(`${v.policyId}@${v.version}`, policy);
      const l = latest.get(v.policyId);
      if (!l || l.version < v.version) latest.set(v.policyId, policy);
    }
    const snapshot = new PolicySnapshot(
      byKey,
      latest,
      rules.map((r) => ({ id: r.id, position: r.position, name: r.name, policyId: r.policyId, match: r.match as RuleMatch })),
      this.opts.defaults,
      new Map(agreed.map((c) => [c.externalId, c.agreedPolicyId!])),
    );
    if (generation === this.generation) this.current = { snapshot, at: started };
    return snapshot;
  }
}
