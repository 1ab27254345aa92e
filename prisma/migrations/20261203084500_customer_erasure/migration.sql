-- Erasure of a customer's personal data (issue 20): when and by whom.

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "erasedAt" TIMESTAMPTZ(3),
ADD COLUMN "erasedBy" TEXT;
