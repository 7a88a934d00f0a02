CREATE TABLE "console"."grant_decisions" (
	"grant_id" uuid NOT NULL,
	"approver_id" uuid NOT NULL,
	"decision" text NOT NULL,
	"comment" text NOT NULL,
	"decided_at" timestamp with time zone NOT NULL,
	CONSTRAINT "grant_decisions_grant_id_approver_id_pk" PRIMARY KEY("grant_id","approver_id"),
	CONSTRAINT "grant_decisions_decision_check" CHECK (decision in ('approve', 'deny')),
	CONSTRAINT "grant_decisions_comment_check" CHECK (char_length(comment) between 1 and 2000)
);
--> statement-breakpoint
CREATE TABLE "console"."grant_policies" (
	"category" text PRIMARY KEY NOT NULL,
	"max_duration_minutes" integer DEFAULT 60 NOT NULL,
	"approvals_needed" smallint DEFAULT 1 NOT NULL,
	"approver_permission" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"updated_by" uuid,
	CONSTRAINT "grant_policies_category_check" CHECK (category in ('profile', 'conversations', 'payments', 'usage', 'preferences')),
	CONSTRAINT "grant_policies_max_duration_check" CHECK (max_duration_minutes between 5 and 480),
	CONSTRAINT "grant_policies_approvals_check" CHECK (approvals_needed between 1 and 3),
	CONSTRAINT "grant_policies_approver_permission_check" CHECK (approver_permission in ('grants:approve', 'grants:approve_sensitive'))
);
--> statement-breakpoint
CREATE TABLE "console"."grants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"requester_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"categories" text[] NOT NULL,
	"reason_code" text NOT NULL,
	"justification" text NOT NULL,
	"ticket_ref" text,
	"duration_minutes" integer NOT NULL,
	"requested_start_at" timestamp with time zone,
	"approvals_needed" smallint NOT NULL,
	"approver_permissions" text[] NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"request_expires_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" uuid,
	"revoke_basis" text,
	"closed_at" timestamp with time zone,
	"break_glass" boolean DEFAULT false NOT NULL,
	"reviewed_at" timestamp with time zone,
	"reviewed_by" uuid,
	"review_comment" text,
	CONSTRAINT "grants_status_check" CHECK (status in ('pending', 'approved', 'denied', 'revoked', 'expired', 'cancelled')),
	CONSTRAINT "grants_reason_code_check" CHECK (reason_code in ('support_inquiry', 'privacy_request', 'security_investigation', 'legal', 'other')),
	CONSTRAINT "grants_categories_check" CHECK (cardinality(categories) between 1 and 5 and categories <@ array['profile', 'conversations', 'payments', 'usage', 'preferences']::text[]),
	CONSTRAINT "grants_duration_check" CHECK (duration_minutes between 1 and 480),
	CONSTRAINT "grants_approvals_check" CHECK (approvals_needed between 0 and 3),
	CONSTRAINT "grants_live_window_check" CHECK ((starts_at is null and ends_at is null) or (starts_at is not null and ends_at > starts_at)),
	CONSTRAINT "grants_approved_check" CHECK (status not in ('approved', 'revoked') or (starts_at is not null and decided_at is not null)),
	CONSTRAINT "grants_revoked_check" CHECK ((status = 'revoked') = (revoked_at is not null) and (revoke_basis is null or revoke_basis in ('requester', 'approver', 'revoke_any', 'staff_disabled'))),
	CONSTRAINT "grants_break_glass_check" CHECK (not break_glass or (approvals_needed = 0 and ends_at <= starts_at + interval '60 minutes')),
	CONSTRAINT "grants_review_check" CHECK (reviewed_by is null or reviewed_by <> requester_id),
	CONSTRAINT "grants_text_length_check" CHECK (char_length(justification) <= 2000 and char_length(coalesce(ticket_ref, '')) <= 64 and char_length(coalesce(review_comment, '')) <= 2000)
);
--> statement-breakpoint
CREATE TABLE "console"."notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"recipient_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"grant_id" uuid,
	"subject_staff_id" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"read_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "notifications_kind_check" CHECK (kind in ('grant.requested', 'grant.approved', 'grant.denied', 'grant.revoked', 'grant.expired', 'grant.break_glass', 'lookup.limit'))
);
--> statement-breakpoint
ALTER TABLE "console"."grant_decisions" ADD CONSTRAINT "grant_decisions_grant_id_grants_id_fk" FOREIGN KEY ("grant_id") REFERENCES "console"."grants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grant_decisions" ADD CONSTRAINT "grant_decisions_approver_id_staff_id_fk" FOREIGN KEY ("approver_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grant_policies" ADD CONSTRAINT "grant_policies_approver_permission_permissions_code_fk" FOREIGN KEY ("approver_permission") REFERENCES "console"."permissions"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grant_policies" ADD CONSTRAINT "grant_policies_updated_by_staff_id_fk" FOREIGN KEY ("updated_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_requester_id_staff_id_fk" FOREIGN KEY ("requester_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_revoked_by_staff_id_fk" FOREIGN KEY ("revoked_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_reviewed_by_staff_id_fk" FOREIGN KEY ("reviewed_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_recipient_id_staff_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_grant_id_grants_id_fk" FOREIGN KEY ("grant_id") REFERENCES "console"."grants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_subject_staff_id_staff_id_fk" FOREIGN KEY ("subject_staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "grant_decisions_approver_idx" ON "console"."grant_decisions" USING btree ("approver_id","decided_at");--> statement-breakpoint
CREATE INDEX "grants_live_idx" ON "console"."grants" USING btree ("requester_id","user_id") WHERE "console"."grants"."status" = 'approved';--> statement-breakpoint
CREATE INDEX "grants_requester_idx" ON "console"."grants" USING btree ("requester_id","created_at","id");--> statement-breakpoint
CREATE INDEX "grants_user_idx" ON "console"."grants" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "grants_created_idx" ON "console"."grants" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "grants_pending_idx" ON "console"."grants" USING btree ("request_expires_at") WHERE "console"."grants"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "grants_approved_end_idx" ON "console"."grants" USING btree ("ends_at","id") WHERE "console"."grants"."status" = 'approved';--> statement-breakpoint
CREATE UNIQUE INDEX "grants_unreviewed_break_glass_key" ON "console"."grants" USING btree ("requester_id") WHERE "console"."grants"."break_glass" and "console"."grants"."reviewed_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_recipient_idx" ON "console"."notifications" USING btree ("recipient_id","created_at","id");--> statement-breakpoint
CREATE INDEX "notifications_unread_idx" ON "console"."notifications" USING btree ("recipient_id") WHERE "console"."notifications"."read_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_undelivered_idx" ON "console"."notifications" USING btree ("created_at") WHERE "console"."notifications"."delivered_at" is null;