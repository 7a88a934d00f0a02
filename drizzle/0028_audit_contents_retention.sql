-- The audit trail's contents under a retention policy (issue 14, ADR 033). Law 4 gains one narrow
-- path: console.purge_audit_contents(), owned by the role custodian_retention, may empty the
-- contents of entries whose first covering checkpoint is older than the minimum fixed here
-- (6 years) and than the policy's cutoff. Every leaf hash and subtree hash stays, so the tree still
-- verifies; the triggers refuse every other change for everyone.

-- The minimum, fixed in a migration. The retention policies' table checks its period against it too.
CREATE FUNCTION console.audit_contents_minimum() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT interval '6 years' $$;
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'custodian_retention') THEN
    CREATE ROLE custodian_retention NOLOGIN;
  END IF;
  -- A migrating login that is not a superuser must be a member to give the role its function.
  IF NOT pg_has_role(current_user, 'custodian_retention', 'MEMBER') THEN
    EXECUTE format('GRANT custodian_retention TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA console TO custodian_retention;
--> statement-breakpoint
-- A migrating login that is not a superuser may give a function to a role only if that role may
-- create in its schema: granted for this migration's ALTER ... OWNER TO, revoked at its end.
GRANT CREATE ON SCHEMA console TO custodian_retention;
--> statement-breakpoint
-- When each position was first covered by a checkpoint, by the database's clock: a checkpoint row's
-- own created_at is written by the sequencer and an entry's occurred_at by the app (the intake
-- accepts any time), so neither decides an entry's age. Written only by the trigger below (its
-- owner's rights); the app and the sequencer read it. Not an audit_* table, so the audit rule
-- (apply_audit_privileges) does not give the sequencer INSERT on it.
CREATE TABLE console.trail_coverage (
  id bigserial PRIMARY KEY,
  -- Positions 0 to tree_size - 1 existed in the log when the row was written.
  tree_size bigint NOT NULL CHECK (tree_size >= 0),
  covered_at timestamptz NOT NULL
);
--> statement-breakpoint
CREATE INDEX trail_coverage_at_idx ON console.trail_coverage (covered_at, tree_size);
--> statement-breakpoint
-- One row per run of the purge: the record a verifier weighs an emptied entry against.
CREATE TABLE console.trail_purges (
  id bigint PRIMARY KEY,
  -- The policy's cutoff as given, and the one applied (never later than now - the minimum).
  cutoff timestamptz NOT NULL,
  covered_before timestamptz NOT NULL,
  from_seq bigint NOT NULL,
  to_seq bigint NOT NULL,
  emptied integer NOT NULL CHECK (emptied > 0),
  purged_at timestamptz NOT NULL,
  CHECK (from_seq <= to_seq)
);
--> statement-breakpoint
CREATE SEQUENCE console.trail_purges_id_seq OWNED BY console.trail_purges.id;
--> statement-breakpoint
REVOKE ALL ON console.trail_coverage, console.trail_purges FROM PUBLIC, custodian_app, custodian_sequencer;
--> statement-breakpoint
REVOKE ALL ON SEQUENCE console.trail_coverage_id_seq, console.trail_purges_id_seq FROM PUBLIC, custodian_app, custodian_sequencer;
--> statement-breakpoint
GRANT SELECT ON console.trail_coverage, console.trail_purges TO custodian_app, custodian_sequencer;
--> statement-breakpoint
GRANT SELECT, INSERT ON console.trail_coverage, console.trail_purges TO custodian_retention;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE console.trail_coverage_id_seq, console.trail_purges_id_seq TO custodian_retention;
--> statement-breakpoint
CREATE TRIGGER trail_coverage_append_only BEFORE UPDATE OR DELETE ON console.trail_coverage
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER trail_coverage_no_truncate BEFORE TRUNCATE ON console.trail_coverage
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER trail_purges_append_only BEFORE UPDATE OR DELETE ON console.trail_purges
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER trail_purges_no_truncate BEFORE TRUNCATE ON console.trail_purges
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.trail_coverage ENABLE ALWAYS TRIGGER trail_coverage_append_only;
--> statement-breakpoint
ALTER TABLE console.trail_coverage ENABLE ALWAYS TRIGGER trail_coverage_no_truncate;
--> statement-breakpoint
ALTER TABLE console.trail_purges ENABLE ALWAYS TRIGGER trail_purges_append_only;
--> statement-breakpoint
ALTER TABLE console.trail_purges ENABLE ALWAYS TRIGGER trail_purges_no_truncate;
--> statement-breakpoint
-- Every stored checkpoint covers the positions the log held when it was stored: never more than
-- the leaves (a row with a huge tree_size, which the sequencer refuses anyway, cannot date
-- positions that did not exist yet).
CREATE FUNCTION console.trail_record_coverage() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO console.trail_coverage (tree_size, covered_at)
  SELECT least(NEW.tree_size, coalesce(max(seq) + 1, 0)), clock_timestamp()
    FROM console.audit_leaves;
  RETURN NULL;
END
$$;
--> statement-breakpoint
ALTER FUNCTION console.trail_record_coverage() OWNER TO custodian_retention;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.trail_record_coverage() FROM PUBLIC;
--> statement-breakpoint
GRANT SELECT ON console.audit_leaves TO custodian_retention;
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_coverage AFTER INSERT ON console.audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION console.trail_record_coverage();
--> statement-breakpoint
ALTER TABLE console.audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_coverage;
--> statement-breakpoint
-- Checkpoints stored before this migration are dated by it: their created_at was written by
-- whoever inserted them (before 0015, the app too), so their entries wait six years from now.
INSERT INTO console.trail_coverage (tree_size, covered_at)
SELECT least(max(c.tree_size), (SELECT coalesce(max(seq) + 1, 0) FROM console.audit_leaves)), clock_timestamp()
  FROM console.audit_checkpoints c HAVING count(*) > 0;
--> statement-breakpoint
-- An emptied entry: every content column null, and the purge run that emptied it.
ALTER TABLE console.audit_entries ADD COLUMN purged_by bigint REFERENCES console.trail_purges (id);
--> statement-breakpoint
ALTER TABLE console.audit_entries DROP CONSTRAINT audit_entries_valid_or_raw;
--> statement-breakpoint
ALTER TABLE console.audit_entries ADD CONSTRAINT audit_entries_valid_or_raw CHECK (
  ("purged_by" IS NULL AND "invalid" IS NULL AND "raw" IS NULL AND "body" IS NOT NULL
    AND "occurred_at" IS NOT NULL AND "action" IS NOT NULL AND "outcome" IS NOT NULL)
  OR ("purged_by" IS NULL AND "invalid" IS NOT NULL AND "raw" IS NOT NULL AND "body" IS NULL
    AND "occurred_at" IS NULL AND "action" IS NULL AND "outcome" IS NULL AND "actor_staff_id" IS NULL
    AND "subject_staff_id" IS NULL AND "user_id" IS NULL AND "grant_id" IS NULL
    AND "privacy_request_id" IS NULL AND "session_id" IS NULL)
  OR ("purged_by" IS NOT NULL AND "invalid" IS NULL AND "raw" IS NULL AND "body" IS NULL
    AND "occurred_at" IS NULL AND "action" IS NULL AND "outcome" IS NULL AND "actor_staff_id" IS NULL
    AND "subject_staff_id" IS NULL AND "user_id" IS NULL AND "grant_id" IS NULL
    AND "privacy_request_id" IS NULL AND "session_id" IS NULL));
--> statement-breakpoint
CREATE INDEX audit_entries_purged_idx ON console.audit_entries (seq) WHERE purged_by IS NOT NULL;
--> statement-breakpoint
-- The entries' guard: the one update it lets through is the purge's, made as custodian_retention
-- (only its SECURITY DEFINER function runs as it: no login is a member), which empties an entry's
-- contents and names its run, and nothing else. Everything else is refused for everyone.
CREATE FUNCTION console.audit_entries_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_user = 'custodian_retention'
     AND OLD.purged_by IS NULL AND NEW.purged_by IS NOT NULL AND NEW.seq = OLD.seq
     AND OLD.action IS DISTINCT FROM 'audit.contents_purged'
     AND NEW.body IS NULL AND NEW.raw IS NULL AND NEW.invalid IS NULL
     AND NEW.occurred_at IS NULL AND NEW.action IS NULL AND NEW.outcome IS NULL
     AND NEW.actor_staff_id IS NULL AND NEW.subject_staff_id IS NULL AND NEW.user_id IS NULL
     AND NEW.grant_id IS NULL AND NEW.privacy_request_id IS NULL AND NEW.session_id IS NULL THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit trail is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
DROP TRIGGER audit_entries_append_only ON console.audit_entries;
--> statement-breakpoint
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON console.audit_entries
  FOR EACH ROW EXECUTE FUNCTION console.audit_entries_guard();
--> statement-breakpoint
ALTER TABLE console.audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
--> statement-breakpoint
GRANT SELECT ON console.audit_entries TO custodian_retention;
--> statement-breakpoint
GRANT UPDATE (body, raw, invalid, occurred_at, action, outcome, actor_staff_id, subject_staff_id,
  user_id, grant_id, privacy_request_id, session_id, purged_by) ON console.audit_entries TO custodian_retention;
--> statement-breakpoint
GRANT INSERT ON console.audit_intake TO custodian_retention;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE console.audit_intake_id_seq TO custodian_retention;
--> statement-breakpoint
-- How many positions are old enough to empty at `cutoff`: those covered by a checkpoint stored
-- before both the cutoff and now - the minimum, by the database's clock.
CREATE FUNCTION console.audit_purgeable_size(p_cutoff timestamptz) RETURNS bigint
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(max(tree_size), 0) FROM console.trail_coverage
   WHERE covered_at < least(p_cutoff, clock_timestamp() - console.audit_contents_minimum())
$$;
--> statement-breakpoint
ALTER FUNCTION console.audit_purgeable_size(timestamptz) OWNER TO custodian_retention;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.audit_purgeable_size(timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION console.audit_purgeable_size(timestamptz) TO custodian_app, custodian_sequencer;
--> statement-breakpoint
-- The one path that empties contents: up to p_max_rows of the oldest entries still holding theirs,
-- among the positions old enough (never an entry recording a purge: those are the record). Records
-- the run and queues its audit entry (audit.contents_purged, naming the range) in the same
-- transaction. Returns nothing when nothing was old enough.
CREATE FUNCTION console.purge_audit_contents(p_cutoff timestamptz, p_max_rows integer)
RETURNS TABLE (run bigint, emptied integer, from_seq bigint, to_seq bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_before timestamptz;
  v_size bigint;
  v_seqs bigint[];
  v_run bigint;
  v_at timestamptz := clock_timestamp();
BEGIN
  IF p_cutoff IS NULL OR p_max_rows IS NULL OR p_max_rows < 1 OR p_max_rows > 100000 THEN
    RAISE EXCEPTION 'purge_audit_contents: cutoff is required and max_rows must be 1 to 100000'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- One run at a time: two would empty the same rows and record overlapping ranges.
  PERFORM pg_advisory_xact_lock(727277);
  v_before := least(p_cutoff, v_at - console.audit_contents_minimum());
  v_size := console.audit_purgeable_size(v_before);
  -- Runs empty from the oldest on, so everything before the last run's end is emptied already
  -- (but the records of purges): starting there keeps each batch from rescanning the history.
  SELECT array_agg(e.seq ORDER BY e.seq) INTO v_seqs FROM (
    SELECT seq FROM console.audit_entries
     WHERE seq < v_size
       AND seq > coalesce((SELECT max(p.to_seq) FROM console.trail_purges p), -1)
       AND purged_by IS NULL AND action IS DISTINCT FROM 'audit.contents_purged'
     ORDER BY seq LIMIT p_max_rows) e;
  IF v_seqs IS NULL THEN
    RETURN;
  END IF;
  v_run := nextval('console.trail_purges_id_seq');
  INSERT INTO console.trail_purges (id, cutoff, covered_before, from_seq, to_seq, emptied, purged_at)
  VALUES (v_run, p_cutoff, v_before, v_seqs[1], v_seqs[cardinality(v_seqs)], cardinality(v_seqs), v_at);
  UPDATE console.audit_entries
     SET body = NULL, raw = NULL, invalid = NULL, occurred_at = NULL, action = NULL, outcome = NULL,
         actor_staff_id = NULL, subject_staff_id = NULL, user_id = NULL, grant_id = NULL,
         privacy_request_id = NULL, session_id = NULL, purged_by = v_run
   WHERE seq = ANY (v_seqs);
  -- The run's entry, checked by the sequencer like any other (it re-encodes valid entries
  -- canonically). Custodian itself is the actor.
  INSERT INTO console.audit_intake (body, enqueued_at)
  VALUES (convert_to(jsonb_build_object(
    'v', 1,
    'time', to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'action', 'audit.contents_purged',
    'category', 'audit',
    'outcome', 'allowed',
    'actor', NULL, 'subjectStaffId', NULL, 'userId', NULL, 'grantId', NULL,
    'privacyRequestId', NULL, 'sessionId', NULL, 'purpose', NULL,
    'client', jsonb_build_object('address', NULL, 'userAgent', NULL),
    'details', jsonb_build_object(
      'run', v_run,
      'fromSeq', v_seqs[1],
      'toSeq', v_seqs[cardinality(v_seqs)],
      'emptied', cardinality(v_seqs),
      'coveredBefore', to_char(v_before AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
  )::text, 'UTF8'), v_at);
  RETURN QUERY SELECT v_run, cardinality(v_seqs), v_seqs[1], v_seqs[cardinality(v_seqs)];
END
$$;
--> statement-breakpoint
ALTER FUNCTION console.purge_audit_contents(timestamptz, integer) OWNER TO custodian_retention;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.purge_audit_contents(timestamptz, integer) FROM PUBLIC;
--> statement-breakpoint
-- Called on the sequencer's login (ADR 033): the app's role never.
GRANT EXECUTE ON FUNCTION console.purge_audit_contents(timestamptz, integer) TO custodian_sequencer;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA console FROM custodian_retention;
