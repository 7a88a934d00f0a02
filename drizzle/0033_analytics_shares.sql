-- Sharing analytics (issue 15, ADR 037): the sharing log. Each row is one hand-over of released
-- figures (a CSV of stored release cells, never contributions or events) to a recipient named in
-- the record of processing: the recipient as the record wrote it then and the record's version,
-- the releases shared, how many rows the CSV held and its SHA-256, who shared it and when. The
-- app's role may add rows, never change or remove them. Its audit entry (analytics.share) is
-- written in the same transaction.
CREATE TABLE "console"."analytics_shares" (
	"id" uuid PRIMARY KEY NOT NULL,
	"recipient_name" text NOT NULL,
	"recipient_kind" text NOT NULL,
	"record_version" integer NOT NULL,
	"release_ids" uuid[] NOT NULL,
	"periods" text[] NOT NULL,
	"datasets" text[] NOT NULL,
	"rows" integer NOT NULL,
	"sha256" text NOT NULL,
	"shared_by" uuid NOT NULL,
	"shared_at" timestamp with time zone NOT NULL,
	CONSTRAINT "analytics_shares_recipient_check" CHECK (length(recipient_name) between 1 and 120),
	CONSTRAINT "analytics_shares_releases_check" CHECK (cardinality(release_ids) between 1 and 400 and cardinality(periods) = cardinality(release_ids)),
	CONSTRAINT "analytics_shares_datasets_check" CHECK (cardinality(datasets) >= 1 and datasets <@ array['usage', 'preferences']::text[]),
	CONSTRAINT "analytics_shares_rows_check" CHECK (rows >= 0),
	CONSTRAINT "analytics_shares_sha256_check" CHECK (sha256 ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
ALTER TABLE "console"."analytics_shares" ADD CONSTRAINT "analytics_shares_record_version_processing_record_versions_version_fk" FOREIGN KEY ("record_version") REFERENCES "console"."processing_record_versions"("version") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."analytics_shares" ADD CONSTRAINT "analytics_shares_shared_by_staff_id_fk" FOREIGN KEY ("shared_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analytics_shares_shared_at_idx" ON "console"."analytics_shares" USING btree ("shared_at","id");--> statement-breakpoint
CREATE INDEX "analytics_shares_recipient_idx" ON "console"."analytics_shares" USING btree ("recipient_name","id");--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE ON "console"."analytics_shares" FROM custodian_app;--> statement-breakpoint
GRANT SELECT, INSERT ON "console"."analytics_shares" TO custodian_app;--> statement-breakpoint
INSERT INTO "console"."permissions" ("code", "description") VALUES
  ('analytics:share', 'Share released analytics figures with a recipient in the record of processing');
--> statement-breakpoint
INSERT INTO "console"."role_permissions" ("role_code", "permission_code") VALUES
  ('privacy_officer', 'analytics:share');
