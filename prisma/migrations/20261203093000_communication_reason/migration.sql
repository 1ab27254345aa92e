-- Communication.reason: the state the code used to read back from the error text.
ALTER TABLE "Communication" ADD COLUMN "reason" TEXT;

-- Rows written before: the same state, from the text it was kept in.
UPDATE "Communication" SET "reason" = 'skipped-settled' WHERE "error" LIKE 'skipped: settled meanwhile%';
UPDATE "Communication" SET "reason" = 'retrying' WHERE "status" = 'PENDING' AND "error" LIKE 'retrying: %';
