-- The demo's first start runs the retention purge once at once (issue 14): its run is named for
-- what started it, not taken for the daily job.
ALTER TABLE "console"."retention_runs" DROP CONSTRAINT "retention_runs_trigger_check";--> statement-breakpoint
ALTER TABLE "console"."retention_runs" ADD CONSTRAINT "retention_runs_trigger_check" CHECK (trigger in ('schedule', 'command', 'console', 'first_start'));
