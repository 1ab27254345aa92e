-- CreateTable
CREATE TABLE "ReconcileRun" (
    "slot" TIMESTAMPTZ(3) NOT NULL,
    "holder" TEXT NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "windowStart" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),
    "scanned" INTEGER,
    "recreated" TEXT[],
    "error" TEXT,

    CONSTRAINT "ReconcileRun_pkey" PRIMARY KEY ("slot")
);
