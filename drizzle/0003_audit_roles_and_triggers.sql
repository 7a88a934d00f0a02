-- The audit trail is append-only (DESIGN.md law 4), by privileges and by triggers.
-- Privileges do not bind the tables' owner or a superuser, so the application's queries run as
-- custodian_app (SET ROLE at connection), and the sequencer's as custodian_sequencer.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'custodian_app') THEN
    CREATE ROLE custodian_app NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'custodian_sequencer') THEN
    CREATE ROLE custodian_sequencer NOLOGIN;
  END IF;
  -- The migrating user connects for the app too, and must be able to SET ROLE to both.
  IF NOT pg_has_role(current_user, 'custodian_app', 'MEMBER') THEN
    EXECUTE format('GRANT custodian_app TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'custodian_sequencer', 'MEMBER') THEN
    EXECUTE format('GRANT custodian_sequencer TO %I', current_user);
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA product, console TO custodian_app, custodian_sequencer;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA product, console TO custodian_app;
--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA product, console TO custodian_app, custodian_sequencer;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA product, console GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO custodian_app;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA product, console GRANT USAGE, SELECT ON SEQUENCES TO custodian_app, custodian_sequencer;
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON console.audit_leaves, console.audit_entries, console.audit_nodes, console.audit_tree_heads, console.audit_checkpoints FROM custodian_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON console.audit_leaves, console.audit_entries, console.audit_nodes, console.audit_tree_heads, console.audit_checkpoints TO custodian_sequencer;
--> statement-breakpoint
-- The intake queue: the app only adds to it; only the sequencer reads and removes.
REVOKE SELECT, UPDATE, DELETE, TRUNCATE ON console.audit_intake FROM custodian_app;
--> statement-breakpoint
GRANT SELECT, DELETE ON console.audit_intake TO custodian_sequencer;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION console.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION console.audit_intake_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_user = 'custodian_sequencer' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit intake: % is reserved to the sequencer', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_intake_guard BEFORE UPDATE OR DELETE ON console.audit_intake
  FOR EACH ROW EXECUTE FUNCTION console.audit_intake_guard();
--> statement-breakpoint
CREATE TRIGGER audit_intake_no_truncate BEFORE TRUNCATE ON console.audit_intake
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_intake ENABLE ALWAYS TRIGGER audit_intake_guard;
--> statement-breakpoint
ALTER TABLE console.audit_intake ENABLE ALWAYS TRIGGER audit_intake_no_truncate;
--> statement-breakpoint
CREATE TRIGGER audit_leaves_append_only BEFORE UPDATE OR DELETE ON console.audit_leaves
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_leaves_no_truncate BEFORE TRUNCATE ON console.audit_leaves
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_leaves ENABLE ALWAYS TRIGGER audit_leaves_append_only;
--> statement-breakpoint
ALTER TABLE console.audit_leaves ENABLE ALWAYS TRIGGER audit_leaves_no_truncate;
--> statement-breakpoint
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON console.audit_entries
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON console.audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_entries ENABLE ALWAYS TRIGGER audit_entries_append_only;
--> statement-breakpoint
ALTER TABLE console.audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_truncate;
--> statement-breakpoint
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON console.audit_nodes
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_nodes_no_truncate BEFORE TRUNCATE ON console.audit_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_nodes ENABLE ALWAYS TRIGGER audit_nodes_append_only;
--> statement-breakpoint
ALTER TABLE console.audit_nodes ENABLE ALWAYS TRIGGER audit_nodes_no_truncate;
--> statement-breakpoint
CREATE TRIGGER audit_tree_heads_append_only BEFORE UPDATE OR DELETE ON console.audit_tree_heads
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_tree_heads_no_truncate BEFORE TRUNCATE ON console.audit_tree_heads
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_tree_heads ENABLE ALWAYS TRIGGER audit_tree_heads_append_only;
--> statement-breakpoint
ALTER TABLE console.audit_tree_heads ENABLE ALWAYS TRIGGER audit_tree_heads_no_truncate;
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON console.audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON console.audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION console.audit_refuse_change();
--> statement-breakpoint
ALTER TABLE console.audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_append_only;
--> statement-breakpoint
ALTER TABLE console.audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_no_truncate;
