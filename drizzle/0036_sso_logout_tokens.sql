-- Back-channel logout tokens already taken (ADR 039): a token's `jti` is kept only while its `iat`
-- would let it in again, so that a replayed token is refused instead of ending the sessions its
-- person opened since.
CREATE TABLE "console"."sso_logout_tokens" (
	"issuer" text NOT NULL,
	"jti" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sso_logout_tokens_pkey" PRIMARY KEY("issuer","jti")
);--> statement-breakpoint
CREATE INDEX "sso_logout_tokens_expires_idx" ON "console"."sso_logout_tokens" USING btree ("expires_at");
