-- Analytics releases are drawn once and kept (docs/decisions/012-analytics-releases.md): the app's
-- role may add releases, cells and ledger rows but never change or remove them, so a figure that
-- was shown cannot be redrawn and no spend can be taken back.
REVOKE UPDATE, DELETE, TRUNCATE ON console.analytics_releases, console.analytics_cells, console.analytics_ledger FROM custodian_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON console.analytics_releases, console.analytics_cells, console.analytics_ledger TO custodian_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON console.analytics_contributions, console.analytics_contribution_models, console.analytics_budgets TO custodian_app;
--> statement-breakpoint
-- Law 6 in the database too: no cell whose noisy distinct-user count is below its release's k.
CREATE OR REPLACE FUNCTION console.analytics_cell_min_cohort() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  k integer;
BEGIN
  SELECT min_cohort INTO k FROM console.analytics_releases WHERE id = NEW.release_id;
  IF k IS NULL OR NEW.cohort < k THEN
    RAISE EXCEPTION 'analytics cell %/% has a noisy cohort of % users, below k = %',
      NEW.metric, NEW.category, NEW.cohort, k
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER analytics_cells_min_cohort BEFORE INSERT OR UPDATE ON console.analytics_cells
  FOR EACH ROW EXECUTE FUNCTION console.analytics_cell_min_cohort();
