// `npm run relance -- policies …`: the policies API from a shell (the API validates, checks
// the key's role and records every change in the audit log; this only sends files and
// prints answers). RELANCE_API_URL (default http://127.0.0.1:$API_PORT) and RELANCE_API_KEY.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { Config } from '../config/index';

export const POLICIES_USAGE = `  policies list                          policies and their versions
  policies show <id> [<version>]         a policy, or one version with its templates
  policies create <file.yaml|json>       a draft from a policy file (templates included)
  policies publish <id> <version>        publish a draft
  policies template <id> <version> <step> <channel> <lang> <body-file> [--subject "…"]
                                         save a draft's template (checked against a sample)
  policies preview <id> <version> [--invoice N]   the calendar and every message
  policies rules [<file.yaml|json>]      list the segment rules, or replace them from a file
  policies resolve --audience B2B --country FR --currency EUR --amount 1200.00 [--customer ID] [--policy ID]
  policies migrate <id> --from <v> [--to <v>] [--dry-run]   move running invoices
  policies changes <id>                  who changed what, when
  (RELANCE_API_URL, RELANCE_API_KEY: an admin key for changes)`;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

async function readDocument(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  return /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
}

export async function policiesCommand(config: Config, args: string[]): Promise<number> {
  const base = (config.RELANCE_API_URL ?? `http://127.0.0.1:${config.API_PORT}`).replace(/\/+$/, '');
  const key = config.RELANCE_API_KEY;
  if (!key) {
    console.error('policies: set RELANCE_API_KEY (and RELANCE_API_URL if the API is not local)');
    return 2;
  }
  const call = async (method: string, path: string, body?: unknown): Promise<number> => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    (res.ok ? console.log : console.error)(text ? JSON.stringify(JSON.parse(text), null, 2) : `${res.status}`);
    return res.ok ? 0 : 1;
  };
  const [sub, ...rest] = args;
  const enc = encodeURIComponent;
  switch (sub) {
    case 'list':
      return call('GET', '/v1/policies');
    case 'show':
      if (!rest[0]) break;
      return call('GET', rest[1] ? `/v1/policies/${enc(rest[0])}/versions/${enc(rest[1])}` : `/v1/policies/${enc(rest[0])}`);
    case 'create': {
      if (!rest[0]) break;
      const { version: _v, ...doc } = (await readDocument(rest[0])) as Record<string, unknown>;
      return call('POST', '/v1/policies', doc);
    }
    case 'publish':
      if (!rest[1]) break;
      return call('POST', `/v1/policies/${enc(rest[0]!)}/versions/${enc(rest[1])}/publish`, {});
    case 'template': {
      const [id, version, step, channel, lang, file] = rest;
      if (!file) break;
      const body = await readFile(file, 'utf8');
      return call('PUT', `/v1/policies/${enc(id!)}/versions/${enc(version!)}/templates/${enc(step!)}/${enc(channel!)}/${enc(lang!)}`, {
        subject: option(rest, '--subject') ?? null,
        body,
      });
    }
    case 'preview': {
      if (!rest[1]) break;
      const invoice = option(rest, '--invoice');
      return call('GET', `/v1/policies/${enc(rest[0]!)}/versions/${enc(rest[1])}/preview${invoice ? `?invoice=${enc(invoice)}` : ''}`);
    }
    case 'rules':
      if (!rest[0]) return call('GET', '/v1/policy-rules');
      return call('PUT', '/v1/policy-rules', await readDocument(rest[0]));
    case 'resolve': {
      const q = new URLSearchParams();
      for (const [flag, name] of [
        ['--audience', 'audience'],
        ['--country', 'country'],
        ['--currency', 'currency'],
        ['--amount', 'amount'],
        ['--customer', 'customerId'],
        ['--policy', 'policyId'],
        ['--tags', 'tags'],
      ] as const) {
        const v = option(rest, flag);
        if (v !== undefined) q.set(name, v);
      }
      return call('GET', `/v1/policies/resolve?${q.toString()}`);
    }
    case 'migrate': {
      const from = option(rest, '--from');
      if (!rest[0] || !from) break;
      const to = option(rest, '--to');
      return call('POST', `/v1/policies/${enc(rest[0])}/migrations`, {
        fromVersion: Number(from),
        ...(to ? { toVersion: Number(to) } : {}),
        ...(rest.includes('--dry-run') ? { dryRun: true } : {}),
      });
    }
    case 'changes':
      if (!rest[0]) break;
      return call('GET', `/v1/policies/${enc(rest[0])}/changes`);
  }
  console.error(`usage: npm run relance -- policies …\n${POLICIES_USAGE}`);
  return 2;
}
