-- One communication covering N invoices (issue 18): a customer's batch message and each invoice it listed.
-- CreateTable
CREATE TABLE "CommunicationInvoice" (
    "communicationId" UUID NOT NULL,
    "invoiceNumber" TEXT NOT NULL,
    "invoiceId" UUID,
    "stepId" TEXT NOT NULL,
    "balanceMinor" BIGINT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CommunicationInvoice_pkey" PRIMARY KEY ("communicationId","invoiceNumber")
);

-- CreateIndex
CREATE INDEX "CommunicationInvoice_invoiceNumber_idx" ON "CommunicationInvoice"("invoiceNumber");

-- AddForeignKey
ALTER TABLE "CommunicationInvoice" ADD CONSTRAINT "CommunicationInvoice_communicationId_fkey" FOREIGN KEY ("communicationId") REFERENCES "Communication"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "CommunicationInvoice" ADD CONSTRAINT "CommunicationInvoice_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "Invoice"("id") ON DELETE SET NULL ON UPDATE CASCADE;
