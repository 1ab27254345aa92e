// Import jobs: a large CSV issued in the background. POST /v1/imports validates the whole
// file as the synchronous import does (api/csv-upload.ts: nothing is written when a row is
// invalid), then writes the job and every row in one transaction and answers 202 with the
// job's id; GET /v1/imports/{id} gives its progress and the refused rows by line and field.
//
// The ImportJobProcessor of each API process claims one job at a time through a lease
// (lockedBy/lockedUntil, renewed while it works), issues its PENDING rows in chunks with
// issueInvoice (the function behind POST /v1/invoices, idempotent on the number) and records
// each chunk's outcomes in one statement. A process that dies leaves rows PENDING and a lease
// that runs out: the next process to look (every API polls at start and then periodically)
// takes the job over and re-issues those rows, which issueInvoice turns into joins of the
// workflows already started, so nothing is issued twice. A row whose invoice was created
// after its job was is counted as created, even when the crashed process never recorded it.
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/index';
import type { PrismaClient } from '../prisma/client';
import { declaredCharset, decodeCsv, IMPORT_COLUMNS, invalidRowsProblem, mapWithConcurrency, parseByteLimit, parseCsv, readCsvBody, toColumns, validateRows } from './csv-upload';
import { infrastructureFailure } from './infra-errors';
import { CSV_FORMAT_DESCRIPTION } from './invoice-import';
import { issueInvoice } from './invoice-service';
import type { ApiMetrics } from './metrics';
import { Problem, problems, type FieldError } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import type { IssueInvoiceRequest } from './schemas';
import type { TemporalGateway } from './temporal';

const CHUNK_ROWS = 100;

export const ImportJobSchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['queued', 'running', 'done']),
    rows: z.number().int().openapi({ description: 'Rows in the file (every one valid: the file was checked whole)' }),
    processed: z.number().int(),
    created: z.number().int(),
    existing: z.number().int().openapi({ description: 'Already issued with the same content (a re-upload)' }),
    refused: z.number().int().openapi({ description: 'Refused while issuing (the number was issued elsewhere meanwhile)' }),
    pending: z.number().int(),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    refusedRows: z.array(
      z.object({
        line: z.number().int(),
        number: z.string(),
        errors: z.array(z.object({ field: z.string(), message: z.string() })),
      }),
    ),
  })
  .openapi('ImportJob');
type ImportJobView = z.infer<typeof ImportJobSchema>;

const JobIdParams = z.object({ id: z.uuid() });

export interface ImportJobDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  log: Logger;
  metrics?: ApiMetrics;
}

type RowOutcome = { line: number; status: 'CREATED' | 'EXISTING' | 'REFUSED'; errors?: FieldError[] } | { line: number; retry: unknown };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class ImportJobProcessor {
  readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private running?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  private poller?: NodeJS.Timeout;

  constructor(private readonly deps: ImportJobDeps) {}

  /** Takes over unfinished jobs now, then looks again every lease period (a crashed peer's jobs). */
  start(): void {
    this.stopped = false;
    this.kick();
    this.poller ??= setInterval(() => this.kick(), this.deps.config.IMPORT_JOB_LEASE_MS);
    this.poller.unref();
  }

  /** Work now (a job was just written). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wake?.();
      return;
    }
    this.running = this.loop()
      .catch((err: unknown) => this.deps.log.warn({ err }, 'import jobs: processor stopped; will retry'))
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Stops claiming, lets the chunk in flight finish and record, and releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const job = await this.claim();
      if (!job) {
        // Nothing claimable: wait for a kick, at most a short while (a new job may race us).
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 1_000).unref();
        });
        this.wake = undefined;
        if (!(await this.anyClaimable())) return;
        continue;
      }
      await this.run(job);
    }
  }

  private async anyClaimable(): Promise<boolean> {
    const rows = await this.deps.prisma.$queryRaw<Array<{ n: number }>>`
      SELECT count(*)::int AS n FROM "ImportJob"
      WHERE "status" <> 'DONE' AND ("lockedUntil" IS NULL OR "lockedUntil" < now())`;
    return (rows[0]?.n ?? 0) > 0;
  }

  private async claim(): Promise<{ id: string; createdAt: Date } | undefined> {
    const lease = this.deps.config.IMPORT_JOB_LEASE_MS;
    const rows = await this.deps.prisma.$queryRaw<Array<{ id: string; createdAt: Date }>>`
      UPDATE "ImportJob" SET "status" = 'RUNNING', "lockedBy" = ${this.holder},
             "lockedUntil" = now() + make_interval(secs => ${lease / 1000}::float8), "updatedAt" = now()
      WHERE "id" = (SELECT "id" FROM "ImportJob"
                    WHERE "status" <> 'DONE' AND ("lockedUntil" IS NULL OR "lockedUntil" < now())
                    ORDER BY "createdAt" LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING "id", "createdAt"`;
    return rows[0];
  }

  /** Renews the lease; false when another process has taken the job (we were presumed dead). */
  private async renew(jobId: string): Promise<boolean> {
    const lease = this.deps.config.IMPORT_JOB_LEASE_MS;
    const n = await this.deps.prisma.$executeRaw`
      UPDATE "ImportJob" SET "lockedUntil" = now() + make_interval(secs => ${lease / 1000}::float8), "updatedAt" = now()
      WHERE "id" = ${jobId}::uuid AND "lockedBy" = ${this.holder}`;
    return n === 1;
  }

  private async run(job: { id: string; createdAt: Date }): Promise<void> {
    const { prisma, config, log } = this.deps;
    let backoffMs = 500;
    for (;;) {
      if (this.stopped || !(await this.renew(job.id))) return this.release(job.id);
      const rows = await prisma.importJobRow.findMany({
        where: { jobId: job.id, status: 'PENDING' },
        orderBy: { line: 'asc' },
        take: CHUNK_ROWS,
        select: { line: true, request: true },
      });
      if (rows.length === 0) {
        await prisma.$executeRaw`
          UPDATE "ImportJob" SET "status" = 'DONE', "finishedAt" = now(), "lockedBy" = NULL, "lockedUntil" = NULL, "updatedAt" = now()
          WHERE "id" = ${job.id}::uuid AND "lockedBy" = ${this.holder}`;
        log.info({ importJob: job.id }, 'import job done');
        return;
      }
      const outcomes = await mapWithConcurrency(rows, config.IMPORT_CONCURRENCY, (r) => this.issue(job, r.line, r.request as IssueInvoiceRequest));
      const done = outcomes.filter((o): o is Exclude<RowOutcome, { retry: unknown }> => !('retry' in o));
      if (done.length) await this.record(job.id, done);
      const retry = outcomes.find((o): o is Extract<RowOutcome, { retry: unknown }> => 'retry' in o);
      if (retry) {
        log.warn({ importJob: job.id, err: retry.retry }, 'import job: Temporal or the database unreachable; retrying');
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
      } else backoffMs = 500;
    }
  }

  private async release(jobId: string): Promise<void> {
    await this.deps.prisma.$executeRaw`
      UPDATE "ImportJob" SET "lockedBy" = NULL, "lockedUntil" = NULL WHERE "id" = ${jobId}::uuid AND "lockedBy" = ${this.holder}`;
  }

  private async issue(job: { createdAt: Date }, line: number, request: IssueInvoiceRequest): Promise<RowOutcome> {
    const { prisma, temporal, config, metrics } = this.deps;
    try {
      const r = await issueInvoice({ prisma, temporal, config }, request);
      if (r.created) metrics?.invoicesIssued.inc({ via: 'import' });
      // Created by this job even if a crash kept us from recording it before.
      return { line, status: r.created || r.invoice.createdAt >= job.createdAt ? 'CREATED' : 'EXISTING' };
    } catch (err) {
      if (err instanceof Problem && err.status < 500) {
        return { line, status: 'REFUSED', errors: toColumns(err.options.errors ?? [{ field: 'number', message: err.detail ?? err.title }]) };
      }
      if (infrastructureFailure(err)) return { line, retry: err };
      throw err;
    }
  }

  private async record(jobId: string, done: Array<{ line: number; status: string; errors?: FieldError[] }>): Promise<void> {
    const lines = done.map((d) => d.line);
    const statuses = done.map((d) => d.status);
    const errors = done.map((d) => (d.errors ? JSON.stringify(d.errors) : null));
    await this.deps.prisma.$executeRaw`
      UPDATE "ImportJobRow" r SET "status" = v.status::"ImportRowStatus", "errors" = v.errors::jsonb
      FROM unnest(${lines}::int[], ${statuses}::text[], ${errors}::text[]) AS v(line, status, errors)
      WHERE r."jobId" = ${jobId}::uuid AND r."line" = v.line`;
  }
}

export async function importJobView(prisma: PrismaClient, id: string): Promise<ImportJobView | undefined> {
  const job = await prisma.importJob.findUnique({ where: { id } });
  if (!job) return undefined;
  const counts = await prisma.importJobRow.groupBy({ by: ['status'], where: { jobId: id }, _count: { _all: true } });
  const count = (s: string) => counts.find((c) => c.status === s)?._count._all ?? 0;
  const refusedRows = await prisma.importJobRow.findMany({
    where: { jobId: id, status: 'REFUSED' },
    orderBy: { line: 'asc' },
    select: { line: true, number: true, errors: true },
  });
  const pending = count('PENDING');
  return {
    id: job.id,
    status: job.status.toLowerCase() as ImportJobView['status'],
    rows: job.totalRows,
    processed: job.totalRows - pending,
    created: count('CREATED'),
    existing: count('EXISTING'),
    refused: count('REFUSED'),
    pending,
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    refusedRows: refusedRows.map((r) => ({ line: r.line, number: r.number, errors: (r.errors ?? []) as unknown as FieldError[] })),
  };
}

export function importJobsRouter(deps: ImportJobDeps & { processor: ImportJobProcessor }, registry: OpenAPIRegistry): Router {
  const { prisma, config, processor } = deps;
  const router = Router();
  const maxBytes = parseByteLimit(config.API_IMPORT_LIMIT);

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/imports',
    operationId: 'createImportJob',
    role: 'collector',
    summary: 'Issue a large CSV of invoices in the background (an import job)',
    description:
      `${CSV_FORMAT_DESCRIPTION} One invalid row and no job is created (422 naming every line and column). ` +
      'Then 202 with the job: poll GET /v1/imports/{id}. Each row is issued like POST /v1/invoices (idempotent on the number); ' +
      'the same file uploaded again answers the same job (200), and any file holding rows already issued counts them as existing. ' +
      'A job interrupted by a crash is resumed by the next API process.',
    tags: ['invoices'],
    rawBody: {
      required: true,
      content: { 'text/csv': { schema: { type: 'string', example: `${IMPORT_COLUMNS.join(',')}\n` } } },
    },
    responses: {
      200: jsonResponse('This file was uploaded before: its job', ImportJobSchema),
      202: jsonResponse('Job created; Location: /v1/imports/{id}', ImportJobSchema),
      400: problemResponse('Malformed CSV (unbalanced quotes, column count, missing columns), naming the line'),
      413: problemResponse('File larger than API_IMPORT_LIMIT'),
      415: problemResponse('Not text/csv, or an unknown charset'),
      422: problemResponse('Invalid rows (every one, by line and column) or bytes that are not UTF-8; no job created'),
    },
    handler: async ({ req, res }) => {
      const bytes = await readCsvBody(req, maxBytes, config.API_IMPORT_LIMIT);
      const fileSha256 = createHash('sha256')
        .update(`${declaredCharset(req.get('content-type')) ?? 'utf-8'}\n`)
        .update(bytes)
        .digest('hex');
      const earlier = await prisma.importJob.findFirst({ where: { fileSha256 }, orderBy: { createdAt: 'desc' }, select: { id: true } });
      if (earlier) {
        processor.kick();
        res.status(200).setHeader('Location', `/v1/imports/${earlier.id}`).json(await importJobView(prisma, earlier.id));
        return;
      }
      const csv = parseCsv(decodeCsv(bytes, req.get('content-type')));
      const { valid, refused } = await validateRows(csv.rows, { prisma, config });
      if (refused.length) throw invalidRowsProblem(csv.rows.length, refused);
      const id = randomUUID();
      // The job and all its rows, or nothing: a processor never sees half a file.
      await prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`INSERT INTO "ImportJob" ("id", "fileSha256", "totalRows") VALUES (${id}::uuid, ${fileSha256}, ${valid.length}::int)`;
          for (let i = 0; i < valid.length; i += 2_000) {
            const chunk = valid.slice(i, i + 2_000);
            await tx.$executeRaw`
              INSERT INTO "ImportJobRow" ("jobId", "line", "number", "request")
              SELECT ${id}::uuid, v.line, v.number, v.request::jsonb
              FROM unnest(${chunk.map((r) => r.line)}::int[], ${chunk.map((r) => r.number)}::text[], ${chunk.map((r) => JSON.stringify(r.request))}::text[])
                AS v(line, number, request)`;
          }
        },
        { timeout: 120_000, maxWait: 30_000 },
      );
      processor.kick();
      res.status(202).setHeader('Location', `/v1/imports/${id}`).json(await importJobView(prisma, id));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/imports/{id}',
    operationId: 'getImportJob',
    role: 'viewer',
    summary: 'Progress of an import job: created, existing, refused rows (line and field), pending',
    tags: ['invoices'],
    params: JobIdParams,
    responses: {
      200: jsonResponse('The job', ImportJobSchema),
      404: problemResponse('No such job'),
    },
    handler: async ({ res, params }) => {
      const view = await importJobView(prisma, params.id);
      if (!view) throw problems.notFound(`Import job ${params.id}`);
      res.json(view);
    },
  });
  return router;
}
