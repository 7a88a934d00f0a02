-- Only the sequencer writes the tree (issue 11). 0003 granted custodian_app every privilege on
-- every console table and took back UPDATE, DELETE and TRUNCATE on the audit tables only: the app
-- could INSERT leaves, entries, nodes, tree heads and checkpoints (one forged checkpoint row with a
-- huge tree_size stopped the sequencer from signing again). The rule, for every console.audit_*
-- table, now and later:
--   audit_intake          custodian_app INSERT;  custodian_sequencer SELECT, DELETE
--   every other audit_*   custodian_app SELECT;  custodian_sequencer SELECT, INSERT
-- and nothing for PUBLIC. Default privileges cannot name a table pattern (0003's give every new
-- console table SELECT, INSERT, UPDATE, DELETE to custodian_app), so the rule is a function: this
-- migration applies it, a migration that adds an audit_* table calls it, and runMigrations()
-- calls it after every run, so a forgotten call cannot leave a new table writable by the app.
-- See docs/decisions/019-one-login-per-role.md.
CREATE OR REPLACE FUNCTION console.apply_audit_privileges() RETURNS void
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.oid::regclass AS rel, c.relname
    FROM pg_class c
    WHERE c.relnamespace = 'console'::regnamespace
      AND c.relname LIKE 'audit\_%'
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  LOOP
    EXECUTE format('REVOKE ALL ON %s FROM custodian_app, custodian_sequencer, PUBLIC', t.rel);
    IF t.relname = 'audit_intake' THEN
      EXECUTE format('GRANT INSERT ON %s TO custodian_app', t.rel);
      EXECUTE format('GRANT SELECT, DELETE ON %s TO custodian_sequencer', t.rel);
    ELSE
      EXECUTE format('GRANT SELECT ON %s TO custodian_app', t.rel);
      EXECUTE format('GRANT SELECT, INSERT ON %s TO custodian_sequencer', t.rel);
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION console.apply_audit_privileges() FROM PUBLIC;
--> statement-breakpoint
SELECT console.apply_audit_privileges();
--> statement-breakpoint
-- The sequencer reads and writes the audit tables only: no product table, and none of their
-- sequences (0003 gave it USAGE on every sequence of both schemas).
REVOKE ALL ON ALL SEQUENCES IN SCHEMA product FROM custodian_sequencer;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA product REVOKE ALL ON SEQUENCES FROM custodian_sequencer;
--> statement-breakpoint
REVOKE USAGE ON SCHEMA product FROM custodian_sequencer;
--> statement-breakpoint
-- Start-up reads which migrations are applied before it tries to apply any, so a login that may
-- not migrate (the app's, with an external database) starts when nothing is pending.
GRANT USAGE ON SCHEMA drizzle TO custodian_app;
--> statement-breakpoint
GRANT SELECT ON drizzle.__drizzle_migrations TO custodian_app;
