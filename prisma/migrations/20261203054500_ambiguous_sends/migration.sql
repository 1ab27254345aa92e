-- AlterTable
ALTER TABLE "Communication" ADD COLUMN     "resends" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "transcript" TEXT,
ADD COLUMN     "resolution" TEXT,
ADD COLUMN     "resolvedBy" TEXT,
ADD COLUMN     "resolvedAt" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "Communication_status_idx" ON "Communication"("status");
