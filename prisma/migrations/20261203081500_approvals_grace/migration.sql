-- Approval before formal steps and the approvals worklist (issue 17).

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "approvalBeforeFormalSteps" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "DunningEvent_type_at_idx" ON "DunningEvent"("type", "at");
