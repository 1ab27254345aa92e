-- Customer-level pause (issue 18): invoices issued while it holds start paused.

-- AlterTable
ALTER TABLE "Customer" ADD COLUMN "holdReason" TEXT,
ADD COLUMN "holdUntil" TEXT,
ADD COLUMN "holdBy" TEXT,
ADD COLUMN "holdSince" TIMESTAMPTZ(3);
