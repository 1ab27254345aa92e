// The workflow's journal: timeline events and the invoice row's mirror of the
// workflow state, written as one short transaction per workflow step.
import { ApplicationFailure } from '@temporalio/common';
import type { PrismaClient } from '../prisma/client';
import { settledMeanwhile, SKIPPED_SETTLED_NOTE } from './communication-log';
import { PermanentFailureTypes } from '../contracts/failures';
import type { JournalActivities, JournalInput, PhoneTaskInput, PhoneTaskResult } from './types';

const PHONE_TASK_SKIPPED = 'phone-task-skipped';

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
              ...(state.policy ? { policyId: state.policy.id, policyVersion: state.policy.version } : {}),
            },
          });
        }
      });
    },

    async createPhoneTask(input: PhoneTaskInput): Promise<PhoneTaskResult> {
      const invoice = await prisma.invoice.findUnique({ where: { number: input.invoice.number }, select: { id: true } });
      // The number and the do-not-call flag as the customer's record says now.
      const customer = await prisma.customer.findUnique({
        where: { externalId: input.invoice.customer.id },
        select: { phone: true, doNotCall: true, contacts: { where: { role: 'BILLING', phone: { not: null } }, select: { phone: true }, take: 1 } },
      });
      if (customer?.doNotCall && !(await prisma.dunningEvent.count({ where: { eventKey: input.idempotencyKey } }))) {
        // Non-retryable and typed: the workflow applies the step's fallback as for a refused send.
        throw ApplicationFailure.create({
          type: PermanentFailureTypes.DoNotContact,
          message: `customer ${input.invoice.customer.id} asked not to be called`,
          nonRetryable: true,
        });
      }
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
            phone: customer?.contacts[0]?.phone ?? customer?.phone ?? input.invoice.customer.phone ?? null,
            balanceMinor: input.balanceMinor,
          },
        },
        update: {},
      });
      if (event.type === PHONE_TASK_SKIPPED) return { taskId: event.id, skipped: true };
      // Written first, checked second (as a reminder's PENDING row): a payment journaled
      // after the check was accepted after the task was given to ops.
      if (
        input.knownPaymentIds &&
        (await settledMeanwhile(prisma, {
          invoiceNumber: input.invoice.number,
          currency: input.invoice.currency,
          balanceMinor: input.balanceMinor,
          knownPaymentIds: input.knownPaymentIds,
        }))
      ) {
        await prisma.dunningEvent.update({
          where: { id: event.id },
          data: { type: PHONE_TASK_SKIPPED, data: { ...(event.data as object), reason: SKIPPED_SETTLED_NOTE } },
        });
        return { taskId: event.id, skipped: true };
      }
      return { taskId: event.id };
    },
  };
}
