// Work for staff with a deadline (for now the claim declaration of an insolvent customer):
// listed by due date, closed once done, who and when recorded.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import type { PrismaClient, Task } from '../prisma/client';
import { actorName, recordAudit, requestActor } from './audit';
import { isoDay } from './format';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';

const TaskSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    title: z.string(),
    customerId: z.string().nullable(),
    dueDate: z.string(),
    status: z.enum(['open', 'done']),
    doneBy: z.string().nullable(),
    doneAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Task');
const TaskQuery = z.object({ status: z.enum(['open', 'done', 'all']).default('open') });
const TaskParams = z.object({ taskId: z.uuid() });
const DoneBody = z.object({ note: z.string().trim().max(500).optional().openapi({ description: 'e.g. how and when it was filed' }) });

const dto = (t: Task & { customer: { externalId: string } | null }) => ({
  id: t.id,
  kind: t.kind,
  title: t.title,
  customerId: t.customer?.externalId ?? null,
  dueDate: isoDay(t.dueDate),
  status: t.status as 'open' | 'done',
  doneBy: t.doneBy,
  doneAt: t.doneAt?.toISOString() ?? null,
  createdAt: t.createdAt.toISOString(),
});

export function tasksRouter(deps: { prisma: PrismaClient }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma } = deps;
  const include = { customer: { select: { externalId: true } } };
  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/tasks',
    operationId: 'listTasks',
    role: 'viewer',
    summary: 'Tasks with a deadline (claim declarations...), the nearest deadline first',
    tags: ['tasks'],
    query: TaskQuery,
    responses: { 200: jsonResponse('The tasks', z.object({ items: z.array(TaskSchema) }).openapi('TaskList')) },
    handler: async ({ res, query }) => {
      const rows = await prisma.task.findMany({
        where: query.status === 'all' ? {} : { status: query.status },
        include,
        orderBy: [{ dueDate: 'asc' }, { createdAt: 'asc' }],
        take: 500,
      });
      res.json({ items: rows.map(dto) });
    },
  });
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/tasks/{taskId}/done',
    operationId: 'completeTask',
    role: 'collector',
    summary: 'Mark a task done (once: 409 after)',
    tags: ['tasks'],
    params: TaskParams,
    body: DoneBody,
    responses: { 200: jsonResponse('The task', TaskSchema), 404: problemResponse('Unknown task'), 409: problemResponse('Done already') },
    handler: async ({ res, params, body }) => {
      const by = actorName(requestActor(res));
      const done = await prisma.$transaction(async (tx) => {
        const { count } = await tx.task.updateMany({ where: { id: params.taskId, status: 'open' }, data: { status: 'done', doneBy: by, doneAt: new Date() } });
        const task = await tx.task.findUnique({ where: { id: params.taskId }, include });
        if (!task) throw problems.notFound(`Task ${params.taskId}`);
        if (count === 0) throw problems.conflict(`Task ${params.taskId} was done already (${task.doneBy}, ${task.doneAt?.toISOString()})`, 'task-done');
        await recordAudit(tx, { actor: requestActor(res), action: 'task.done', targetType: 'task', targetId: task.id, detail: { kind: task.kind, note: body.note } });
        return task;
      });
      res.json(dto(done));
    },
  });
  return router;
}
