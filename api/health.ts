// Liveness, readiness (database and Temporal reachable), Prometheus metrics, the OpenAPI
// document and its Swagger UI. No API key on any of these.
import { OpenApiGeneratorV31, type OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { PrismaClient } from '../prisma/client';
import type { ApiMetrics } from './metrics';
import { defineRoute, forbidNulInStrings, jsonResponse } from './route';
import { HealthSchema, ReadySchema } from './schemas';
import { withDeadline, type TemporalGateway } from './temporal';

export interface HealthDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  metrics: ApiMetrics;
}

async function check(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return `unavailable: ${(err as Error).message.split('\n')[0].slice(0, 200)}`;
  }
}

export function healthRouter(deps: HealthDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const tags = ['operations'];

  defineRoute(router, registry, {
    method: 'get',
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the process answers',
    tags,
    auth: false,
    responses: { 200: jsonResponse('Alive', HealthSchema) },
    handler: async ({ res }) => {
      res.json({ status: 'ok' });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: the database and Temporal are reachable',
    tags,
    auth: false,
    responses: { 200: jsonResponse('Ready', ReadySchema), 503: jsonResponse('Not ready', ReadySchema) },
    handler: async ({ res }) => {
      const [database, temporal] = await Promise.all([
        check(() => deps.prisma.$queryRaw`SELECT 1`),
        check(() =>
          withDeadline(deps.temporal, () => deps.temporal.client.workflowService.getSystemInfo({}), 2_000),
        ),
      ]);
      const ok = database === 'ok' && temporal === 'ok';
      res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: { database, temporal } });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tags,
    auth: false,
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    handler: async ({ res }) => {
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.send(await deps.metrics.registry.metrics());
    },
  });

  let document: object | undefined;
  const openApiDocument = () =>
    (document ??= forbidNulInStrings(new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Relance API',
        version: '1.0.0',
        description:
          'Durable dunning of unpaid invoices on Temporal. Errors are application/problem+json (RFC 9457). ' +
          'Authenticate with `Authorization: Bearer <API key>` except on health, metrics, docs and the ' +
          'signature-checked webhooks.',
      },
      servers: [{ url: '/' }],
    })));

  defineRoute(router, registry, {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This OpenAPI 3.1 document',
    tags,
    auth: false,
    responses: { 200: { description: 'OpenAPI document', content: { 'application/json': { schema: { type: 'object' } } } } },
    handler: async ({ res }) => {
      res.json(openApiDocument());
    },
  });

  router.use('/docs', swaggerUi.serve, swaggerUi.setup(undefined, { swaggerOptions: { url: '/openapi.json' } }));
  return router;
}
