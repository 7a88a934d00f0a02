-- Passkeys and security keys (issue 16, ADR 038): a WebAuthn credential is a second factor of its
-- own kind beside authenticator apps, in the same table, so "has a factor" stays one query. Its
-- public key is not a secret (nothing sealed); its signature counter only grows. Challenges live
-- server-side, bound to a pending sign-in or a session, for 5 minutes and one use.
ALTER TABLE "console"."staff_factors" DROP CONSTRAINT "staff_factors_kind_check";--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ALTER COLUMN "secret_sealed" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ALTER COLUMN "master_key_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD COLUMN "credential_id" text;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD COLUMN "public_key" bytea;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD COLUMN "sign_count" bigint;--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD COLUMN "transports" text[];--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD CONSTRAINT "staff_factors_kind_check" CHECK ("kind" IN ('totp', 'webauthn'));--> statement-breakpoint
ALTER TABLE "console"."staff_factors" ADD CONSTRAINT "staff_factors_shape_check" CHECK (
	("kind" = 'totp' AND "secret_sealed" IS NOT NULL AND "master_key_id" IS NOT NULL AND "credential_id" IS NULL)
	OR ("kind" = 'webauthn' AND "secret_sealed" IS NULL AND "credential_id" IS NOT NULL
		AND "public_key" IS NOT NULL AND "sign_count" IS NOT NULL AND "name" IS NOT NULL)
);--> statement-breakpoint
CREATE UNIQUE INDEX "staff_factors_credential_id_key" ON "console"."staff_factors" ("credential_id");--> statement-breakpoint
CREATE TABLE "console"."webauthn_challenges" (
	"id" uuid PRIMARY KEY NOT NULL,
	"staff_id" uuid NOT NULL REFERENCES "console"."staff"("id"),
	"purpose" text NOT NULL CHECK ("purpose" IN ('enrol', 'sign_in', 'step_up')),
	"challenge" text NOT NULL,
	"pending_sign_in_id" uuid REFERENCES "console"."pending_sign_ins"("id") ON DELETE CASCADE,
	"session_id" uuid REFERENCES "console"."sessions"("id") ON DELETE CASCADE,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "webauthn_challenges_binding_check" CHECK (
		("purpose" = 'sign_in' AND "pending_sign_in_id" IS NOT NULL AND "session_id" IS NULL)
		OR ("purpose" <> 'sign_in' AND "session_id" IS NOT NULL AND "pending_sign_in_id" IS NULL)
	)
);--> statement-breakpoint
CREATE INDEX "webauthn_challenges_staff_idx" ON "console"."webauthn_challenges" ("staff_id");--> statement-breakpoint
CREATE INDEX "webauthn_challenges_pending_idx" ON "console"."webauthn_challenges" ("pending_sign_in_id");--> statement-breakpoint
CREATE INDEX "webauthn_challenges_session_idx" ON "console"."webauthn_challenges" ("session_id");
