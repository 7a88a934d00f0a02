-- The sequencer never stalls on content (docs/decisions/018-invalid-audit-entries.md). An intake
-- row that is not a valid entry of the catalogue is still sequenced: its leaf is the committed
-- bytes as they are, kept in `raw` (they may be neither UTF-8 nor JSON), `invalid` says why, and
-- the columns derived from content stay empty. A valid entry keeps its canonical JSON in `body`.
ALTER TABLE "console"."audit_entries"
  ALTER COLUMN "body" DROP NOT NULL,
  ALTER COLUMN "occurred_at" DROP NOT NULL,
  ALTER COLUMN "action" DROP NOT NULL,
  ALTER COLUMN "outcome" DROP NOT NULL,
  ADD COLUMN "raw" bytea,
  ADD COLUMN "invalid" text;
--> statement-breakpoint
ALTER TABLE "console"."audit_entries" ADD CONSTRAINT "audit_entries_valid_or_raw" CHECK (
  ("invalid" IS NULL AND "raw" IS NULL AND "body" IS NOT NULL AND "occurred_at" IS NOT NULL
    AND "action" IS NOT NULL AND "outcome" IS NOT NULL)
  OR ("invalid" IS NOT NULL AND "raw" IS NOT NULL AND "body" IS NULL AND "occurred_at" IS NULL
    AND "action" IS NULL AND "outcome" IS NULL AND "actor_staff_id" IS NULL
    AND "subject_staff_id" IS NULL AND "user_id" IS NULL AND "grant_id" IS NULL
    AND "privacy_request_id" IS NULL AND "session_id" IS NULL));
--> statement-breakpoint
CREATE INDEX "audit_entries_invalid_idx" ON "console"."audit_entries" USING btree ("seq") WHERE "invalid" IS NOT NULL;
--> statement-breakpoint
-- Security reviewers are alerted through the console's notifications; `audit_seq` names the entry.
ALTER TABLE "console"."notifications" ADD COLUMN "audit_seq" bigint;
--> statement-breakpoint
ALTER TABLE "console"."notifications" DROP CONSTRAINT "notifications_kind_check";
--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_kind_check" CHECK (kind in ('grant.requested', 'grant.approved', 'grant.denied', 'grant.revoked', 'grant.expired', 'grant.break_glass', 'lookup.limit', 'audit.invalid_entry'));
--> statement-breakpoint
-- The sequencer's one way to alert: every active holder of security:review who has no unread
-- alert of this kind yet (a flood of bad rows is one alert until it is read; /audit/verify and the
-- trail list every invalid entry). Runs as its owner, so custodian_sequencer needs no rights on the
-- staff or notification tables.
CREATE FUNCTION console.alert_invalid_audit_entry(p_seq bigint, p_at timestamptz) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH sent AS (
    INSERT INTO console.notifications (id, recipient_id, kind, audit_seq, created_at)
    SELECT gen_random_uuid(), st.id, 'audit.invalid_entry', p_seq, p_at
      FROM console.staff st
     WHERE st.status = 'active'
       AND EXISTS (SELECT 1 FROM console.staff_roles sr
                     JOIN console.role_permissions rp ON rp.role_code = sr.role_code
                    WHERE sr.staff_id = st.id AND rp.permission_code = 'security:review')
       AND NOT EXISTS (SELECT 1 FROM console.notifications n
                        WHERE n.recipient_id = st.id AND n.kind = 'audit.invalid_entry'
                          AND n.read_at IS NULL)
    RETURNING 1)
  SELECT count(*)::integer FROM sent
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.alert_invalid_audit_entry(bigint, timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION console.alert_invalid_audit_entry(bigint, timestamptz) TO custodian_sequencer;
--> statement-breakpoint
-- How far behind the sequencer is, for `audit verify` and /audit/verify: the app may not read the
-- intake's rows (only add to them), so this reads their count and age and nothing else.
CREATE FUNCTION console.audit_intake_status() RETURNS TABLE (depth bigint, oldest timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT count(*)::bigint, min(enqueued_at) FROM console.audit_intake
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.audit_intake_status() FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION console.audit_intake_status() TO custodian_app, custodian_sequencer;
