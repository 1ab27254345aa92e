// The workflow's journal: timeline events and the invoice row's mirror of the
// workflow state, written as one short transaction per workflow step.
import type { PrismaClient } from '../prisma/client';
import type { JournalActivities, JournalInput, PhoneTaskInput } from './types';

export function createJournalActivities(prisma: PrismaClient): JournalActivities {
  return {
    async journal({ events, state }: JournalInput): Promise<void> {
      const invoiceNumber = state?.invoiceNumber ?? events[0]?.invoiceNumber;
      if (!invoiceNumber) return;
      await prisma.$transaction(async (tx) => {
        const invoice = await tx.invoice.findUnique({ where: { number: invoiceNumber }, select: { id: true } });
        if (events.length > 0) {
          // eventKey is unique and deterministic: a retried journal write adds nothing.
          await tx.dunningEvent.createMany({
            data: events.map((e) => ({
              invoiceId: invoice?.id ?? null,
              invoiceNumber: e.invoiceNumber,
              workflowId: e.workflowId,
              eventKey: e.eventKey,
              type: e.type,
              at: new Date(e.at),
              data: e.data as object,
            })),
            skipDuplicates: true,
          });
        }
        if (state && invoice) {
          await tx.invoice.update({
            where: { id: invoice.id },
            data: {
              stage: state.stage,
              balanceMinor: BigInt(state.balanceMinor),
              outcome: state.outcome ?? null,
              closedAt: state.closedAt ? new Date(state.closedAt) : null,
            },
          });
        }
      });
    },

    async createPhoneTask(input: PhoneTaskInput): Promise<{ taskId: string }> {
      const invoice = await prisma.invoice.findUnique({ where: { number: input.invoice.number }, select: { id: true } });
      const event = await prisma.dunningEvent.upsert({
        where: { eventKey: input.idempotencyKey },
        create: {
          eventKey: input.idempotencyKey,
          invoiceId: invoice?.id ?? null,
          invoiceNumber: input.invoice.number,
          workflowId: input.workflowId,
          type: 'phone-task',
          at: new Date(),
          data: {
            stepId: input.stepId,
            customer: input.invoice.customer.name,
            phone: input.invoice.customer.phone ?? null,
            balanceMinor: input.balanceMinor,
          },
        },
        update: {},
      });
      return { taskId: event.id };
    },
  };
}
