-- Second factors (issue 16, ADR 035): authenticator-app (TOTP) secrets sealed under the master
-- key, single-use recovery codes stored as argon2id hashes, sign-ins waiting for their second
-- step, and when a session last proved a second factor (step-up).
ALTER TABLE "console"."staff" ADD COLUMN "second_factor_required" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "console"."sessions" ADD COLUMN "second_factor_at" timestamp with time zone;--> statement-breakpoint
CREATE TABLE "console"."staff_factors" (
	"id" uuid PRIMARY KEY NOT NULL,
	"staff_id" uuid NOT NULL REFERENCES "console"."staff"("id"),
	"kind" text NOT NULL CHECK ("kind" IN ('totp')),
	"secret_sealed" bytea NOT NULL,
	"master_key_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"confirmed_at" timestamp with time zone,
	"last_used_step" bigint
);--> statement-breakpoint
CREATE INDEX "staff_factors_staff_idx" ON "console"."staff_factors" ("staff_id");--> statement-breakpoint
CREATE TABLE "console"."recovery_codes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"staff_id" uuid NOT NULL REFERENCES "console"."staff"("id"),
	"code_hash" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone
);--> statement-breakpoint
CREATE INDEX "recovery_codes_staff_idx" ON "console"."recovery_codes" ("staff_id");--> statement-breakpoint
CREATE TABLE "console"."pending_sign_ins" (
	"id" uuid PRIMARY KEY NOT NULL,
	"token_hash" bytea NOT NULL,
	"staff_id" uuid NOT NULL REFERENCES "console"."staff"("id"),
	"redirect_to" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);--> statement-breakpoint
CREATE UNIQUE INDEX "pending_sign_ins_token_hash_key" ON "console"."pending_sign_ins" ("token_hash");--> statement-breakpoint
CREATE INDEX "pending_sign_ins_staff_idx" ON "console"."pending_sign_ins" ("staff_id");
