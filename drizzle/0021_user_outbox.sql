-- The end-user outbox (ADR 024): messages to a privacy request's user, sealed under the user's
-- data key. custodian_app gets SELECT, INSERT, UPDATE, DELETE on it from 0003's default privileges
-- (erasure deletes a user's messages; the sender updates their state).
CREATE TABLE "console"."user_outbox" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"request_id" uuid NOT NULL,
	"template" text NOT NULL,
	"content_enc" "bytea" NOT NULL,
	"state" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"last_error" text,
	CONSTRAINT "user_outbox_template_check" CHECK (template in ('acknowledgement', 'confirm_request', 'extension', 'completion', 'denial')),
	CONSTRAINT "user_outbox_state_check" CHECK (state in ('queued', 'sent', 'failed')),
	CONSTRAINT "user_outbox_sent_check" CHECK ((state = 'sent') = (sent_at is not null)),
	CONSTRAINT "user_outbox_attempts_check" CHECK (attempts >= 0),
	CONSTRAINT "user_outbox_last_error_check" CHECK (last_error is null or last_error ~ '^[A-Za-z0-9_ .:-]{1,120}$')
);
--> statement-breakpoint
ALTER TABLE "console"."privacy_requests" ADD COLUMN "acknowledged_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "console"."user_outbox" ADD CONSTRAINT "user_outbox_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "user_outbox_due_idx" ON "console"."user_outbox" USING btree ("next_attempt_at","id") WHERE "console"."user_outbox"."state" = 'queued';--> statement-breakpoint
CREATE INDEX "user_outbox_request_idx" ON "console"."user_outbox" USING btree ("request_id","created_at");--> statement-breakpoint
CREATE INDEX "user_outbox_user_idx" ON "console"."user_outbox" USING btree ("user_id");