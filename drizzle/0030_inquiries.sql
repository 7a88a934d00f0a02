-- Issue 15: users' support inquiries, their threads, and access bound to them (ADR 034).
CREATE TABLE "console"."inquiries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"category" text NOT NULL,
	"state" text NOT NULL,
	"source" text NOT NULL,
	"subject_enc" "bytea" NOT NULL,
	"created_by" uuid,
	"assignee_id" uuid,
	"received_at" timestamp with time zone NOT NULL,
	"first_response_due_at" timestamp with time zone NOT NULL,
	"resolution_due_at" timestamp with time zone NOT NULL,
	"first_response_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"privacy_request_id" uuid,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inquiries_category_check" CHECK (category in ('account', 'billing', 'privacy', 'abuse_report', 'other')),
	CONSTRAINT "inquiries_state_check" CHECK (state in ('new', 'assigned', 'waiting_on_user', 'answered', 'closed')),
	CONSTRAINT "inquiries_source_check" CHECK (source in ('api', 'staff')),
	CONSTRAINT "inquiries_closed_check" CHECK ((state = 'closed') = (closed_at is not null)),
	CONSTRAINT "inquiries_assignee_check" CHECK (state in ('new', 'closed') or assignee_id is not null),
	CONSTRAINT "inquiries_new_check" CHECK (state <> 'new' or assignee_id is null),
	CONSTRAINT "inquiries_privacy_request_check" CHECK (privacy_request_id is null or category = 'privacy')
);
--> statement-breakpoint
CREATE TABLE "console"."inquiry_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"inquiry_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"author" text NOT NULL,
	"staff_id" uuid,
	"body_enc" "bytea" NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "inquiry_messages_author_check" CHECK (author in ('user', 'staff')),
	CONSTRAINT "inquiry_messages_staff_check" CHECK ((author = 'staff') = (staff_id is not null))
);
--> statement-breakpoint
ALTER TABLE "console"."inquiries" ADD CONSTRAINT "inquiries_created_by_staff_id_fk" FOREIGN KEY ("created_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."inquiries" ADD CONSTRAINT "inquiries_assignee_id_staff_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."inquiries" ADD CONSTRAINT "inquiries_privacy_request_id_privacy_requests_id_fk" FOREIGN KEY ("privacy_request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."inquiry_messages" ADD CONSTRAINT "inquiry_messages_inquiry_id_inquiries_id_fk" FOREIGN KEY ("inquiry_id") REFERENCES "console"."inquiries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."inquiry_messages" ADD CONSTRAINT "inquiry_messages_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "inquiries_privacy_request_key" ON "console"."inquiries" USING btree ("privacy_request_id") WHERE "console"."inquiries"."privacy_request_id" is not null;--> statement-breakpoint
CREATE INDEX "inquiries_open_received_idx" ON "console"."inquiries" USING btree ("received_at","id") WHERE "console"."inquiries"."state" <> 'closed';--> statement-breakpoint
CREATE INDEX "inquiries_received_idx" ON "console"."inquiries" USING btree ("received_at","id");--> statement-breakpoint
CREATE INDEX "inquiries_assignee_idx" ON "console"."inquiries" USING btree ("assignee_id","received_at","id");--> statement-breakpoint
CREATE INDEX "inquiries_user_idx" ON "console"."inquiries" USING btree ("user_id","received_at");--> statement-breakpoint
CREATE INDEX "inquiry_messages_inquiry_idx" ON "console"."inquiry_messages" USING btree ("inquiry_id","created_at","id");--> statement-breakpoint
CREATE INDEX "inquiry_messages_user_idx" ON "console"."inquiry_messages" USING btree ("user_id");--> statement-breakpoint
-- Grants bound to an inquiry: the assignment's grant of its thread, or a grant asked for with the
-- reason support_inquiry naming it. A grant of the inquiries category is always bound (or is a
-- break-glass grant), so no grant opens every thread of a user.
ALTER TABLE "console"."grants" ADD COLUMN "inquiry_id" uuid;--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_inquiry_id_inquiries_id_fk" FOREIGN KEY ("inquiry_id") REFERENCES "console"."inquiries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "grants_inquiry_idx" ON "console"."grants" USING btree ("inquiry_id") WHERE "console"."grants"."inquiry_id" is not null;--> statement-breakpoint
ALTER TABLE "console"."grants" DROP CONSTRAINT "grants_categories_check";--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_categories_check" CHECK (cardinality(categories) between 1 and 6 and categories <@ array['profile', 'conversations', 'payments', 'usage', 'preferences', 'inquiries']::text[]);--> statement-breakpoint
ALTER TABLE "console"."grants" DROP CONSTRAINT "grants_privacy_request_check";--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_privacy_request_check" CHECK (privacy_request_id is null or (reason_code = 'privacy_request' and inquiry_id is null and not break_glass));--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_inquiry_check" CHECK (inquiry_id is null or (reason_code = 'support_inquiry' and not break_glass and (categories = array['inquiries']::text[] or not ('inquiries' = any(categories)))));--> statement-breakpoint
ALTER TABLE "console"."grants" ADD CONSTRAINT "grants_inquiries_bound_check" CHECK (not ('inquiries' = any(categories)) or inquiry_id is not null or break_glass);--> statement-breakpoint
ALTER TABLE "console"."grant_policies" DROP CONSTRAINT "grant_policies_category_check";--> statement-breakpoint
ALTER TABLE "console"."grant_policies" ADD CONSTRAINT "grant_policies_category_check" CHECK (category in ('profile', 'conversations', 'payments', 'usage', 'preferences', 'inquiries'));--> statement-breakpoint
-- The inquiries policy bounds break-glass use of threads; the assignment's grant needs no approval.
INSERT INTO "console"."grant_policies" ("category", "max_duration_minutes", "approvals_needed", "approver_permission", "updated_at")
VALUES ('inquiries', 480, 1, 'grants:approve_sensitive', '2026-12-01T00:00:00Z');--> statement-breakpoint
-- Replies to an inquiry leave through the end-user outbox, like a privacy request's messages.
ALTER TABLE "console"."user_outbox" ALTER COLUMN "request_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "console"."user_outbox" ADD COLUMN "inquiry_id" uuid;--> statement-breakpoint
ALTER TABLE "console"."user_outbox" ADD CONSTRAINT "user_outbox_inquiry_id_inquiries_id_fk" FOREIGN KEY ("inquiry_id") REFERENCES "console"."inquiries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."user_outbox" ADD CONSTRAINT "user_outbox_purpose_check" CHECK ((request_id is null) <> (inquiry_id is null));--> statement-breakpoint
ALTER TABLE "console"."user_outbox" DROP CONSTRAINT "user_outbox_template_check";--> statement-breakpoint
ALTER TABLE "console"."user_outbox" ADD CONSTRAINT "user_outbox_template_check" CHECK (template in ('acknowledgement', 'confirm_request', 'extension', 'completion', 'denial', 'inquiry_reply'));--> statement-breakpoint
CREATE INDEX "user_outbox_inquiry_idx" ON "console"."user_outbox" USING btree ("inquiry_id","created_at") WHERE "console"."user_outbox"."inquiry_id" is not null;--> statement-breakpoint
ALTER TABLE "console"."service_tokens" DROP CONSTRAINT "service_tokens_scopes_check";--> statement-breakpoint
ALTER TABLE "console"."service_tokens" ADD CONSTRAINT "service_tokens_scopes_check" CHECK (cardinality(scopes) > 0 and scopes <@ array['privacy-requests:write', 'privacy-requests:read', 'access-history:read', 'inquiries:write']::text[]);--> statement-breakpoint
INSERT INTO "console"."permissions" ("code", "description") VALUES
  ('inquiries:answer', 'Work the inquiry queue: take, answer and close inquiries'),
  ('inquiries:assign', 'Assign inquiries to agents');
--> statement-breakpoint
INSERT INTO "console"."role_permissions" ("role_code", "permission_code") VALUES
  ('support_agent', 'inquiries:answer'),
  ('support_lead', 'inquiries:answer'),
  ('support_lead', 'inquiries:assign'),
  ('privacy_officer', 'inquiries:answer');

