-- Customers as records (issue 17): contacts with roles, preferences, tags, agreed terms,
-- notes and call outcomes.

-- CreateEnum
CREATE TYPE "ContactRole" AS ENUM ('BILLING', 'CC', 'ESCALATION');

-- CreateEnum
CREATE TYPE "CallOutcomeKind" AS ENUM ('REACHED', 'NO_ANSWER', 'PROMISED', 'DISPUTED');

-- AlterTable
ALTER TABLE "Customer"
    ADD COLUMN "preferredChannels" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "doNotSms" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "doNotCall" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "paymentTermDays" INTEGER,
    ADD COLUMN "paymentTermAgreedBy" TEXT,
    ADD COLUMN "paymentTermAgreedAt" TIMESTAMPTZ(3),
    ADD COLUMN "gracePeriodDays" INTEGER,
    ADD COLUMN "gracePeriodAgreedBy" TEXT,
    ADD COLUMN "gracePeriodAgreedAt" TIMESTAMPTZ(3),
    ADD COLUMN "agreedPolicyId" TEXT,
    ADD COLUMN "agreedPolicyAgreedBy" TEXT,
    ADD COLUMN "agreedPolicyAgreedAt" TIMESTAMPTZ(3),
    ADD COLUMN "earlyPaymentDiscountBps" INTEGER,
    ADD COLUMN "earlyPaymentDiscountDays" INTEGER,
    ADD COLUMN "earlyPaymentDiscountAgreedBy" TEXT,
    ADD COLUMN "earlyPaymentDiscountAgreedAt" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "CustomerContact" (
    "id" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "role" "ContactRole" NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "phone" TEXT,
    "language" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "CustomerContact_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Note" (
    "id" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "invoiceId" UUID,
    "text" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Note_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CallOutcome" (
    "id" UUID NOT NULL,
    "customerId" UUID NOT NULL,
    "invoiceId" UUID,
    "outcome" "CallOutcomeKind" NOT NULL,
    "text" TEXT,
    "promisedDate" DATE,
    "promisedAmountMinor" BIGINT,
    "phoneTaskId" UUID,
    "author" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CallOutcome_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Customer_tags_idx" ON "Customer" USING GIN ("tags");

-- CreateIndex
CREATE INDEX "CustomerContact_customerId_role_idx" ON "CustomerContact"("customerId", "role");

-- CreateIndex
CREATE INDEX "Note_customerId_createdAt_idx" ON "Note"("customerId", "createdAt");

-- CreateIndex
CREATE INDEX "Note_invoiceId_createdAt_idx" ON "Note"("invoiceId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "CallOutcome_phoneTaskId_key" ON "CallOutcome"("phoneTaskId");

-- CreateIndex
CREATE INDEX "CallOutcome_customerId_createdAt_idx" ON "CallOutcome"("customerId", "createdAt");

-- CreateIndex
CREATE INDEX "CallOutcome_invoiceId_createdAt_idx" ON "CallOutcome"("invoiceId", "createdAt");

-- AddForeignKey
ALTER TABLE "CustomerContact" ADD CONSTRAINT "CustomerContact_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Note" ADD CONSTRAINT "Note_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Note" ADD CONSTRAINT "Note_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "Invoice"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CallOutcome" ADD CONSTRAINT "CallOutcome_customerId_fkey" FOREIGN KEY ("customerId") REFERENCES "Customer"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CallOutcome" ADD CONSTRAINT "CallOutcome_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "Invoice"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CallOutcome" ADD CONSTRAINT "CallOutcome_phoneTaskId_fkey" FOREIGN KEY ("phoneTaskId") REFERENCES "DunningEvent"("id") ON DELETE SET NULL ON UPDATE CASCADE;
