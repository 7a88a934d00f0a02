-- Retention (issue 14, ADR 032): one policy per data category, the purge runs and their progress
-- per category, and the history of policy changes. Defaults and their reasons are in the README.
CREATE TABLE "console"."retention_policies" (
	"category" text PRIMARY KEY NOT NULL,
	"period_days" integer NOT NULL,
	"reason" text NOT NULL,
	"legal_basis" text NOT NULL,
	"suspended_by_hold" boolean NOT NULL,
	"suspended_by_open_request" boolean NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"updated_by" uuid REFERENCES "console"."staff"("id"),
	CONSTRAINT "retention_policies_category_check" CHECK (category in ('conversations', 'messages', 'usage_events', 'payment_references', 'staff_sessions', 'sign_in_throttle', 'notifications', 'user_outbox', 'export_packages', 'closed_privacy_requests', 'grants', 'inquiries', 'analytics_contributions', 'audit_contents')),
	CONSTRAINT "retention_policies_period_check" CHECK (period_days between 0 and 36500),
	-- The audit trail's contents are kept at least six years, whatever an admin sets (law 4).
	CONSTRAINT "retention_policies_audit_minimum_check" CHECK (category <> 'audit_contents' or period_days >= 2192),
	CONSTRAINT "retention_policies_text_check" CHECK (char_length(reason) between 1 and 500 and char_length(legal_basis) between 1 and 200)
);
--> statement-breakpoint
-- A policy is edited, never removed: every category always has one.
REVOKE DELETE, TRUNCATE ON "console"."retention_policies" FROM custodian_app;
--> statement-breakpoint
CREATE TABLE "console"."retention_policy_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"category" text NOT NULL REFERENCES "console"."retention_policies"("category"),
	"changed_by" uuid NOT NULL REFERENCES "console"."staff"("id"),
	"changed_at" timestamp with time zone NOT NULL,
	-- Field name → { from, to }: periods, flags and the policy's own texts, never personal data.
	"changes" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "retention_policy_changes_at_idx" ON "console"."retention_policy_changes" USING btree ("changed_at","id");
--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "console"."retention_policy_changes" FROM custodian_app;
--> statement-breakpoint
CREATE TABLE "console"."retention_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"state" text NOT NULL,
	-- The instant every cut-off of the run is taken from: a resumed run keeps its cut-offs.
	"as_of" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"resumed" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "retention_runs_trigger_check" CHECK (trigger in ('schedule', 'command', 'console')),
	CONSTRAINT "retention_runs_state_check" CHECK (state in ('running', 'done')),
	CONSTRAINT "retention_runs_finished_check" CHECK ((state = 'done') = (finished_at is not null))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "retention_runs_one_running_key" ON "console"."retention_runs" USING btree ((true)) WHERE state = 'running';
--> statement-breakpoint
CREATE INDEX "retention_runs_started_idx" ON "console"."retention_runs" USING btree ("started_at","id");
--> statement-breakpoint
CREATE TABLE "console"."retention_run_categories" (
	"run_id" uuid NOT NULL REFERENCES "console"."retention_runs"("id"),
	"category" text NOT NULL,
	"period_days" integer NOT NULL,
	"cutoff" timestamp with time zone NOT NULL,
	"suspended_by_hold" boolean NOT NULL,
	"suspended_by_open_request" boolean NOT NULL,
	"state" text NOT NULL,
	"removed" bigint DEFAULT 0 NOT NULL,
	"cascaded" bigint DEFAULT 0 NOT NULL,
	"batches" integer DEFAULT 0 NOT NULL,
	-- The keyset position: the last primary key a committed batch went past.
	"last_key" text,
	"duration_ms" bigint DEFAULT 0 NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "retention_run_categories_pk" PRIMARY KEY ("run_id", "category"),
	CONSTRAINT "retention_run_categories_state_check" CHECK (state in ('pending', 'running', 'done')),
	CONSTRAINT "retention_run_categories_counts_check" CHECK (removed >= 0 and cascaded >= 0 and batches >= 0 and duration_ms >= 0)
);
--> statement-breakpoint
-- Closed grants are kept (the access history and the trail name them); their free texts go.
ALTER TABLE "console"."grants" ADD COLUMN "texts_purged_at" timestamp with time zone;
--> statement-breakpoint
INSERT INTO "console"."retention_policies" ("category", "period_days", "reason", "legal_basis", "suspended_by_hold", "suspended_by_open_request", "updated_at") VALUES
  ('conversations', 730, 'Conversations the user has not touched for two years are no longer needed to provide the service.', 'Contract (providing the service); storage limitation', true, true, '2026-01-01T00:00:00Z'),
  ('messages', 730, 'Messages older than two years are no longer needed to provide the service.', 'Contract (providing the service); storage limitation', true, true, '2026-01-01T00:00:00Z'),
  ('usage_events', 400, 'Usage is needed for billing and abuse checks for a year plus a month of disputes.', 'Contract and legitimate interest (billing, abuse prevention)', true, true, '2026-01-01T00:00:00Z'),
  ('payment_references', 3653, 'Payment references back invoices, which tax law keeps ten years.', 'Legal obligation (tax and accounting records)', true, true, '2026-01-01T00:00:00Z'),
  ('staff_sessions', 0, 'A session that has ended is of no use; sign-ins stay in the audit trail.', 'Legitimate interest (console security)', false, false, '2026-01-01T00:00:00Z'),
  ('sign_in_throttle', 1, 'Failure counters only matter while they can lock a sign-in.', 'Legitimate interest (console security)', false, false, '2026-01-01T00:00:00Z'),
  ('notifications', 90, 'Staff notifications are working reminders; the audit trail keeps what happened.', 'Legitimate interest (running the console)', false, false, '2026-01-01T00:00:00Z'),
  ('user_outbox', 180, 'Messages sent to users are kept six months to answer questions about them.', 'Legal obligation (answering privacy requests)', true, false, '2026-01-01T00:00:00Z'),
  ('export_packages', 30, 'An expired export package is kept a month as a record, then removed.', 'Legal obligation (access and portability requests)', true, false, '2026-01-01T00:00:00Z'),
  ('closed_privacy_requests', 1095, 'The working data of a closed request is kept three years, the limitation period of a complaint.', 'Legal obligation (accountability for privacy requests)', true, true, '2026-01-01T00:00:00Z'),
  ('grants', 1095, 'The free texts of a closed grant are kept three years for reviews; the grant itself stays.', 'Legitimate interest (security review)', true, false, '2026-01-01T00:00:00Z'),
  ('inquiries', 730, 'Closed inquiries are kept two years to answer follow-ups (not built yet).', 'Contract (support)', true, true, '2026-01-01T00:00:00Z'),
  ('analytics_contributions', 190, 'Per-user contributions are only needed while a release may still be drawn from them.', 'Legitimate interest (aggregate analytics)', false, false, '2026-01-01T00:00:00Z'),
  ('audit_contents', 2192, 'The audit trail proves who saw what; six years is the legal minimum fixed in a migration.', 'Legal obligation (accountability, limitation periods)', false, false, '2026-01-01T00:00:00Z');
