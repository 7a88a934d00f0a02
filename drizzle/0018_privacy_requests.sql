CREATE TABLE "console"."privacy_request_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_staff_id" uuid,
	"actor_label" text NOT NULL,
	"kind" text NOT NULL,
	"from_state" text,
	"to_state" text,
	"note" text,
	CONSTRAINT "privacy_request_events_note_check" CHECK (char_length(coalesce(note, '')) <= 2000)
);
--> statement-breakpoint
CREATE TABLE "console"."privacy_requests" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"type" text NOT NULL,
	"state" text NOT NULL,
	"source" text NOT NULL,
	"channel" text,
	"created_by" uuid,
	"verified" boolean NOT NULL,
	"verified_at" timestamp with time zone,
	"verification_method" text,
	"details_enc" "bytea",
	"purposes" text[] DEFAULT '{}'::text[] NOT NULL,
	"regime" text NOT NULL,
	"country" text,
	"received_at" timestamp with time zone NOT NULL,
	"due_day" date NOT NULL,
	"extended_due_day" date,
	"extension_reason" text,
	"acknowledge_by" date,
	"paused_days" integer DEFAULT 0 NOT NULL,
	"paused_since" timestamp with time zone,
	"held_from" text,
	"hold_reason" text,
	"proposal" text,
	"proposed_by" uuid,
	"assignee_id" uuid,
	"completed_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"progress_step" text,
	"progress_done" bigint DEFAULT 0 NOT NULL,
	"progress_total" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "privacy_requests_type_check" CHECK (type in ('access', 'portability', 'rectification', 'erasure', 'restriction', 'objection')),
	CONSTRAINT "privacy_requests_state_check" CHECK (state in ('received', 'verifying', 'awaiting_approval', 'approved', 'denied', 'processing', 'completed', 'failed', 'on_hold', 'canceled')),
	CONSTRAINT "privacy_requests_source_check" CHECK (source in ('api', 'staff')),
	CONSTRAINT "privacy_requests_regime_check" CHECK (regime in ('gdpr', 'ccpa', 'service')),
	CONSTRAINT "privacy_requests_channel_check" CHECK (channel is null or channel in ('email', 'letter', 'phone', 'other')),
	CONSTRAINT "privacy_requests_hold_check" CHECK ((state = 'on_hold') = (held_from is not null and hold_reason is not null) and (hold_reason is null or hold_reason in ('legal_hold', 'awaiting_information'))),
	CONSTRAINT "privacy_requests_proposal_check" CHECK ((proposal is null) = (proposed_by is null) and (proposal is null or proposal in ('erasure', 'denial'))),
	CONSTRAINT "privacy_requests_purposes_check" CHECK (purposes <@ array['training', 'analytics', 'personalization', 'marketing']::text[]),
	CONSTRAINT "privacy_requests_verified_check" CHECK (not verified or verified_at is not null),
	CONSTRAINT "privacy_requests_progress_check" CHECK (progress_done >= 0 and progress_total >= 0 and paused_days >= 0)
);
--> statement-breakpoint
ALTER TABLE "console"."privacy_request_events" ADD CONSTRAINT "privacy_request_events_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."privacy_request_events" ADD CONSTRAINT "privacy_request_events_actor_staff_id_staff_id_fk" FOREIGN KEY ("actor_staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."privacy_requests" ADD CONSTRAINT "privacy_requests_created_by_staff_id_fk" FOREIGN KEY ("created_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."privacy_requests" ADD CONSTRAINT "privacy_requests_proposed_by_staff_id_fk" FOREIGN KEY ("proposed_by") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."privacy_requests" ADD CONSTRAINT "privacy_requests_assignee_id_staff_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "privacy_request_events_request_idx" ON "console"."privacy_request_events" USING btree ("request_id","id");--> statement-breakpoint
CREATE INDEX "privacy_requests_due_idx" ON "console"."privacy_requests" USING btree ("due_day","id");--> statement-breakpoint
CREATE INDEX "privacy_requests_state_due_idx" ON "console"."privacy_requests" USING btree ("state","due_day","id");--> statement-breakpoint
CREATE INDEX "privacy_requests_assignee_idx" ON "console"."privacy_requests" USING btree ("assignee_id","due_day","id");--> statement-breakpoint
CREATE INDEX "privacy_requests_user_idx" ON "console"."privacy_requests" USING btree ("user_id","type","created_at");