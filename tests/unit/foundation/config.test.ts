import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/index';

const issuesOf = (env: NodeJS.ProcessEnv) => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
};

describe('configuration', () => {
  it('has safe local defaults: loopback, local sinks, no external service', () => {
    const c = loadConfig({});
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.TEMPORAL_ADDRESS).toBeUndefined();
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.SMTP_HOST).toBe('127.0.0.1');
    expect(c.TWILIO_API_BASE).toBeUndefined();
    expect(c.creditor.address).toEqual({ lines: ['12 rue de la Paix'], postalCode: '75002', city: 'Paris', country: 'FR' });
    expect(c.WORKFLOW_THREADS).toBe(1);
    expect(c.WORKFLOW_BUNDLE_PATH).toBeUndefined();
    expect(c.API_KEY_CACHE_SECONDS).toBe(5);
    expect(c.WORKER_ROLES).toEqual(['workflows', 'email', 'sms', 'letter', 'agency']);
  });

  it('WORKER_ROLES: a list of task-queue groups, blank meaning all, duplicates dropped', () => {
    expect(loadConfig({ WORKER_ROLES: 'workflows' }).WORKER_ROLES).toEqual(['workflows']);
    expect(loadConfig({ WORKER_ROLES: ' email, sms ,email' }).WORKER_ROLES).toEqual(['email', 'sms']);
    expect(loadConfig({ WORKER_ROLES: '  ' }).WORKER_ROLES).toHaveLength(5);
  });

  it('coerces and accepts valid values', () => {
    const c = loadConfig({ API_PORT: '8080', SMTP_SECURE: 'yes', DATABASE_URL: 'postgresql://u:p@db:5432/relance', WEBHOOK_SECRETS: '{"stripe":"abcdefgh12"}' });
    expect(c.API_PORT).toBe(8080);
    expect(c.SMTP_SECURE).toBe(true);
    expect(c.DATABASE_URL).toBe('postgresql://u:p@db:5432/relance');
    // One secret per source becomes a list of one; a rotation lists [current, next].
    expect(c.WEBHOOK_SECRETS).toEqual({ stripe: ['abcdefgh12'] });
    expect(loadConfig({ WEBHOOK_SECRETS: '{"bank":["current-secret","next-secret"]}' }).WEBHOOK_SECRETS).toEqual({
      bank: ['current-secret', 'next-secret'],
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: '', DATABASE_URL: '  ' }).TEMPORAL_ADDRESS).toBeUndefined();
  });

  it.each([
    [{ API_PORT: 'eighty' }, 'API_PORT'],
    [{ API_PORT: '70000' }, 'API_PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ WEBHOOK_SECRETS: 'not json' }, 'WEBHOOK_SECRETS'],
    [{ CREDITOR_LOGO_FILE: 'package.json' }, 'CREDITOR_LOGO_FILE'],
    [{ CREDITOR_LOGO_FILE: 'no/such/logo.png' }, 'CREDITOR_LOGO_FILE'],
    [{ WEBHOOK_SECRETS: '{"bank":"short"}' }, 'WEBHOOK_SECRETS'],
    [{ TWILIO_ACCOUNT_SID: 'XX123' }, 'TWILIO_ACCOUNT_SID'],
    [{ RATE_EMAIL_PER_SEC: '-3' }, 'RATE_EMAIL_PER_SEC'],
    [{ SMTP_SECURE: 'maybe' }, 'SMTP_SECURE'],
    [{ WORKFLOW_THREADS: '0' }, 'WORKFLOW_THREADS'],
    [{ API_KEY_CACHE_SECONDS: '-1' }, 'API_KEY_CACHE_SECONDS'],
    [{ WORKER_ROLES: 'workflows,fax' }, 'WORKER_ROLES'],
    [{ WORKER_ROLES: ',' }, 'WORKER_ROLES'],
  ])('a wrong value fails at start naming the variable: %o', (env, variable) => {
    const issues = issuesOf(env);
    expect(issues.map((i) => i.variable)).toContain(variable);
  });

  it('SMTP_RELAY_HOST/SMTP_RELAY_PORT (npm start: the worker mails one\'s own server): a port, and only with a host', () => {
    expect(loadConfig({ SMTP_RELAY_HOST: 'smtp.example.com', SMTP_RELAY_PORT: '587' })).toMatchObject({ SMTP_RELAY_HOST: 'smtp.example.com', SMTP_RELAY_PORT: 587, SMTP_PORT: 2525 });
    expect(loadConfig({}).SMTP_RELAY_HOST).toBeUndefined();
    expect(issuesOf({ SMTP_RELAY_HOST: 'smtp.example.com', SMTP_RELAY_PORT: 'x' }).map((i) => i.variable)).toEqual(['SMTP_RELAY_PORT']);
    expect(issuesOf({ SMTP_RELAY_PORT: '587' })).toEqual([{ variable: 'SMTP_RELAY_PORT', message: expect.stringMatching(/SMTP_RELAY_HOST/) }]);
  });

  it('reports every wrong variable at once, in the error message too', () => {
    try {
      loadConfig({ API_PORT: 'x', INBOX_PORT: '0' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as Error).message).toMatch(/API_PORT: .*\n.*INBOX_PORT: /s);
    }
  });
});
