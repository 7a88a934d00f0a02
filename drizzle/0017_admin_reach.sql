-- The admin's reach (issue 11, ADR 021): roles that reach personal data or decide access wait for
-- a second person (console.role_requests), and an approval replaces the account's password with a
-- one-time link (console.password_links, holding only the SHA-256 of the link's token).
CREATE TABLE "console"."password_links" (
	"id" uuid PRIMARY KEY NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"staff_id" uuid NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "console"."role_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"staff_id" uuid NOT NULL,
	"roles" text[] NOT NULL,
	"requested_by" uuid NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decided_by" uuid,
	"decided_at" timestamp with time zone,
	CONSTRAINT "role_requests_status_check" CHECK (status in ('pending', 'approved', 'rejected', 'withdrawn', 'superseded')),
	CONSTRAINT "role_requests_roles_check" CHECK (cardinality(roles) between 1 and 16),
	CONSTRAINT "role_requests_self_check" CHECK (requested_by <> staff_id),
	CONSTRAINT "role_requests_decider_check" CHECK (status not in ('approved', 'rejected') or (decided_by is not null and decided_by <> requested_by and decided_by <> staff_id))
);
--> statement-breakpoint
ALTER TABLE "console"."notifications" DROP CONSTRAINT "notifications_kind_check";--> statement-breakpoint
ALTER TABLE "console"."password_links" ADD CONSTRAINT "password_links_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."password_links" ADD CONSTRAINT "password_links_created_by_staff_id_fk" FOREIGN KEY ("created_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."role_requests" ADD CONSTRAINT "role_requests_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."role_requests" ADD CONSTRAINT "role_requests_requested_by_staff_id_fk" FOREIGN KEY ("requested_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."role_requests" ADD CONSTRAINT "role_requests_decided_by_staff_id_fk" FOREIGN KEY ("decided_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "password_links_token_hash_key" ON "console"."password_links" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "password_links_staff_idx" ON "console"."password_links" USING btree ("staff_id");--> statement-breakpoint
CREATE UNIQUE INDEX "role_requests_pending_key" ON "console"."role_requests" USING btree ("staff_id") WHERE "console"."role_requests"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "role_requests_requested_idx" ON "console"."role_requests" USING btree ("requested_at","id");--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_kind_check" CHECK (kind in ('grant.requested', 'grant.approved', 'grant.denied', 'grant.revoked', 'grant.expired', 'grant.break_glass', 'lookup.limit', 'staff.role_requested', 'audit.invalid_entry'));--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON console.role_requests, console.password_links TO custodian_app;
