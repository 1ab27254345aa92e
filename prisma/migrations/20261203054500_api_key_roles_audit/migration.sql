-- API key roles. Keys created before roles keep what they could do (issue, read, every ops
-- action): collector. The key `npm start` created for the developer becomes admin.
CREATE TYPE "ApiKeyRole" AS ENUM ('viewer', 'collector', 'admin');
ALTER TABLE "ApiKey" ADD COLUMN "role" "ApiKeyRole" NOT NULL DEFAULT 'collector';
UPDATE "ApiKey" SET "role" = 'admin' WHERE "name" = 'dev (npm start)';
-- New keys: least privilege unless a role is named.
ALTER TABLE "ApiKey" ALTER COLUMN "role" SET DEFAULT 'viewer';

-- Audit log.
CREATE TABLE "AuditEntry" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "actorKeyId" UUID,
    "action" TEXT NOT NULL,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "AuditEntry_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "AuditEntry_at_idx" ON "AuditEntry"("at");
CREATE INDEX "AuditEntry_targetType_targetId_id_idx" ON "AuditEntry"("targetType", "targetId", "id");
CREATE INDEX "AuditEntry_actor_id_idx" ON "AuditEntry"("actor", "id");
CREATE INDEX "AuditEntry_action_id_idx" ON "AuditEntry"("action", "id");

-- Append-only: no DELETE, no UPDATE; the one exception is the erasure of a customer's
-- personal data (GDPR Art. 17), which rewrites `detail` only, inside a transaction that
-- set relance.erasure = 'on' (set_config(..., true): that transaction only).
CREATE FUNCTION "AuditEntry_append_only"() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND current_setting('relance.erasure', true) = 'on'
     AND NEW."id" = OLD."id" AND NEW."at" = OLD."at" AND NEW."actor" = OLD."actor"
     AND NEW."action" = OLD."action" AND NEW."targetType" = OLD."targetType"
     AND NEW."targetId" = OLD."targetId" THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'AuditEntry is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER "AuditEntry_append_only" BEFORE UPDATE OR DELETE ON "AuditEntry"
  FOR EACH ROW EXECUTE FUNCTION "AuditEntry_append_only"();
