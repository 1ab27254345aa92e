-- Inbound replies, bounces and invalid addresses (issue 19).

-- CreateTable
CREATE TABLE "InboundMessage" (
    "id" UUID NOT NULL,
    "rawSha256" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "messageId" TEXT,
    "fromAddress" TEXT,
    "toAddresses" TEXT[],
    "subject" TEXT,
    "text" TEXT,
    "excerpt" TEXT,
    "kind" TEXT NOT NULL,
    "classifiedBy" TEXT NOT NULL,
    "bounce" TEXT,
    "bounceRecipient" TEXT,
    "bounceStatus" TEXT,
    "matchedBy" TEXT,
    "communicationId" UUID,
    "invoiceNumbers" TEXT[],
    "sizeBytes" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'received',
    "receivedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "readAt" TIMESTAMPTZ(3),

    CONSTRAINT "InboundMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InboundAttachment" (
    "id" UUID NOT NULL,
    "inboundMessageId" UUID NOT NULL,
    "filename" TEXT,
    "contentType" TEXT NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "content" BYTEA NOT NULL,

    CONSTRAINT "InboundAttachment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InvalidAddress" (
    "id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "evidence" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "InvalidAddress_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "InboundMessage_rawSha256_key" ON "InboundMessage"("rawSha256");

-- CreateIndex
CREATE INDEX "InboundMessage_kind_readAt_idx" ON "InboundMessage"("kind", "readAt");

-- CreateIndex
CREATE INDEX "InboundAttachment_inboundMessageId_idx" ON "InboundAttachment"("inboundMessageId");

-- CreateIndex
CREATE UNIQUE INDEX "InvalidAddress_channel_address_key" ON "InvalidAddress"("channel", "address");

-- AddForeignKey
ALTER TABLE "InboundAttachment" ADD CONSTRAINT "InboundAttachment_inboundMessageId_fkey" FOREIGN KEY ("inboundMessageId") REFERENCES "InboundMessage"("id") ON DELETE CASCADE ON UPDATE CASCADE;
