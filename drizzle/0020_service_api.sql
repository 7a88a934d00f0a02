CREATE TABLE "console"."api_idempotency" (
	"token_id" uuid NOT NULL,
	"key" text NOT NULL,
	"request_hash" "bytea" NOT NULL,
	"status" smallint NOT NULL,
	"response" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "api_idempotency_token_id_key_pk" PRIMARY KEY("token_id","key"),
	CONSTRAINT "api_idempotency_hash_check" CHECK (octet_length(request_hash) = 32)
);
--> statement-breakpoint
CREATE TABLE "console"."service_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "service_tokens_name_check" CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
	CONSTRAINT "service_tokens_scopes_check" CHECK (cardinality(scopes) > 0 and scopes <@ array['privacy-requests:write', 'privacy-requests:read', 'access-history:read']::text[]),
	CONSTRAINT "service_tokens_hash_check" CHECK (octet_length(token_hash) = 32)
);
--> statement-breakpoint
ALTER TABLE "console"."api_idempotency" ADD CONSTRAINT "api_idempotency_token_id_service_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "console"."service_tokens"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "service_tokens_name_key" ON "console"."service_tokens" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "service_tokens_token_hash_key" ON "console"."service_tokens" USING btree ("token_hash");--> statement-breakpoint
-- The app's login reads and writes the API's tables, and never deletes a token (its name is the
-- actor of its calls in the audit trail): revoking sets revoked_at.
REVOKE ALL ON console.service_tokens, console.api_idempotency FROM custodian_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON console.service_tokens TO custodian_app;
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON console.api_idempotency TO custodian_app;
