-- Insolvency proceedings of a customer (issue 18) and a worklist of tasks with deadlines
-- (the claim declaration to the mandataire).

-- CreateEnum
CREATE TYPE "InsolvencyKind" AS ENUM ('SAUVEGARDE', 'REDRESSEMENT', 'LIQUIDATION');

-- CreateTable
CREATE TABLE "InsolvencyProceeding" (
    "id" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "kind" "InsolvencyKind" NOT NULL,
    "court" TEXT NOT NULL,
    "judgmentDate" DATE NOT NULL,
    "bodaccPublicationDate" DATE NOT NULL,
    "claimDeadline" DATE NOT NULL,
    "representativeRole" TEXT NOT NULL,
    "representativeName" TEXT NOT NULL,
    "representativeAddressLines" TEXT[],
    "representativePostalCode" TEXT NOT NULL,
    "representativeCity" TEXT NOT NULL,
    "representativeCountry" CHAR(2) NOT NULL,
    "holds" JSONB NOT NULL DEFAULT '[]',
    "recordedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "InsolvencyProceeding_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Task" (
    "id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "customerId" UUID,
    "insolvencyId" UUID,
    "dueDate" DATE NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "doneBy" TEXT,
    "doneAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Task_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "InsolvencyProceeding_customerId_kind_judgmentDate_key" ON "InsolvencyProceeding"("customerId", "kind", "judgmentDate");

-- CreateIndex
CREATE UNIQUE INDEX "Task_insolvencyId_kind_key" ON "Task"("insolvencyId", "kind");

-- CreateIndex
CREATE INDEX "Task_status_dueDate_idx" ON "Task"("status", "dueDate");

-- AddForeignKey
ALTER TABLE "InsolvencyProceeding" ADD CONSTRAINT "InsolvencyProceeding_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Task" ADD CONSTRAINT "Task_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Task" ADD CONSTRAINT "Task_insolvencyId_fkey" FOREIGN KEY ("insolvencyId") REFERENCES "InsolvencyProceeding"("id") ON DELETE CASCADE ON UPDATE CASCADE;
