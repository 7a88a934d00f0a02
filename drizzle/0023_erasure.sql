CREATE TABLE "console"."erasure_certificates" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"note" text NOT NULL,
	"sha256" "bytea" NOT NULL,
	"issued_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."erasure_retained_payments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"customer_token" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"retained_until" date NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."erasure_runs" (
	"request_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"key_version" smallint,
	"master_key_id" text,
	"key_destroyed_at" timestamp with time zone,
	"email_index" "bytea",
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "console"."erasure_tallies" (
	"request_id" uuid NOT NULL,
	"table_name" text NOT NULL,
	"rows_before" bigint NOT NULL,
	"rows_removed" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "erasure_tallies_request_id_table_name_pk" PRIMARY KEY("request_id","table_name"),
	CONSTRAINT "erasure_tallies_counts_check" CHECK (rows_before >= 0 and rows_removed >= 0)
);
--> statement-breakpoint
CREATE TABLE "console"."erasure_tombstones" (
	"id_hash" "bytea" PRIMARY KEY NOT NULL,
	"email_hash" "bytea",
	"index_key_id" text NOT NULL,
	"request_id" uuid NOT NULL,
	"erased_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."legal_holds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"set_by" uuid,
	"set_at" timestamp with time zone NOT NULL,
	"lifted_by" uuid,
	"lifted_at" timestamp with time zone,
	"lift_reason" text,
	CONSTRAINT "legal_holds_reason_check" CHECK (char_length(reason) between 1 and 2000 and char_length(coalesce(lift_reason, '')) <= 2000),
	CONSTRAINT "legal_holds_lifted_check" CHECK ((lifted_at is null) = (lift_reason is null))
);
--> statement-breakpoint
ALTER TABLE "console"."erasure_certificates" ADD CONSTRAINT "erasure_certificates_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."erasure_retained_payments" ADD CONSTRAINT "erasure_retained_payments_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."erasure_runs" ADD CONSTRAINT "erasure_runs_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."erasure_tallies" ADD CONSTRAINT "erasure_tallies_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."erasure_tombstones" ADD CONSTRAINT "erasure_tombstones_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."legal_holds" ADD CONSTRAINT "legal_holds_set_by_staff_id_fk" FOREIGN KEY ("set_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."legal_holds" ADD CONSTRAINT "legal_holds_lifted_by_staff_id_fk" FOREIGN KEY ("lifted_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "erasure_retained_payments_request_idx" ON "console"."erasure_retained_payments" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "erasure_retained_payments_until_idx" ON "console"."erasure_retained_payments" USING btree ("retained_until");--> statement-breakpoint
CREATE INDEX "erasure_tombstones_email_idx" ON "console"."erasure_tombstones" USING btree ("email_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "legal_holds_active_key" ON "console"."legal_holds" USING btree ("user_id") WHERE "console"."legal_holds"."lifted_at" is null;--> statement-breakpoint
CREATE INDEX "legal_holds_user_idx" ON "console"."legal_holds" USING btree ("user_id","set_at");--> statement-breakpoint
-- Tombstones and certificates are records of an erasure: the app's role may add them, never change
-- or remove them (the default privileges of 0003 granted it all four).
REVOKE UPDATE, DELETE, TRUNCATE ON "console"."erasure_tombstones", "console"."erasure_certificates" FROM custodian_app;
