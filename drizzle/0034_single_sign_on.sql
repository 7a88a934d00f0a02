-- Single sign-on with the company's OpenID Connect provider (issue 16, ADR 039): which provider
-- account (issuer and subject) a staff account is linked to, the provider's session behind each
-- console session and pending sign-in (for back-channel logout), the sign-ins on their way
-- through the provider (state, nonce and PKCE verifier kept server-side), and the alert to
-- security reviewers when a sign-in changes roles.
ALTER TABLE "console"."staff" ADD COLUMN "idp_issuer" text;--> statement-breakpoint
ALTER TABLE "console"."staff" ADD COLUMN "idp_subject" text;--> statement-breakpoint
ALTER TABLE "console"."staff" ADD CONSTRAINT "staff_idp_pair_check" CHECK (("idp_issuer" IS NULL) = ("idp_subject" IS NULL));--> statement-breakpoint
CREATE UNIQUE INDEX "staff_idp_subject_key" ON "console"."staff" ("idp_issuer","idp_subject");--> statement-breakpoint
ALTER TABLE "console"."sessions" ADD COLUMN "idp_issuer" text;--> statement-breakpoint
ALTER TABLE "console"."sessions" ADD COLUMN "idp_sid" text;--> statement-breakpoint
CREATE INDEX "sessions_idp_sid_idx" ON "console"."sessions" ("idp_issuer","idp_sid");--> statement-breakpoint
ALTER TABLE "console"."pending_sign_ins" ADD COLUMN "idp_issuer" text;--> statement-breakpoint
ALTER TABLE "console"."pending_sign_ins" ADD COLUMN "idp_sid" text;--> statement-breakpoint
CREATE TABLE "console"."sso_flows" (
	"id" uuid PRIMARY KEY NOT NULL,
	"token_hash" bytea NOT NULL,
	"state" text NOT NULL,
	"nonce" text NOT NULL,
	"code_verifier" text NOT NULL,
	"redirect_to" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);--> statement-breakpoint
CREATE UNIQUE INDEX "sso_flows_token_hash_key" ON "console"."sso_flows" ("token_hash");--> statement-breakpoint
CREATE INDEX "sso_flows_expires_idx" ON "console"."sso_flows" ("expires_at");--> statement-breakpoint
ALTER TABLE "console"."notifications" DROP CONSTRAINT "notifications_kind_check";--> statement-breakpoint
ALTER TABLE "console"."notifications" ADD CONSTRAINT "notifications_kind_check" CHECK (kind in ('grant.requested', 'grant.approved', 'grant.denied', 'grant.revoked', 'grant.expired', 'grant.break_glass', 'lookup.limit', 'staff.role_requested', 'audit.invalid_entry', 'staff.roles_synced'));
