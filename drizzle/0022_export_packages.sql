CREATE TABLE "console"."export_chunks" (
	"package_id" uuid NOT NULL,
	"idx" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "export_chunks_package_id_idx_pk" PRIMARY KEY("package_id","idx")
);
--> statement-breakpoint
CREATE TABLE "console"."export_packages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"request_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"state" text NOT NULL,
	"token_hash" "bytea",
	"file_name" text NOT NULL,
	"bytes" bigint DEFAULT 0 NOT NULL,
	"sha256" text,
	"chunks" integer DEFAULT 0 NOT NULL,
	"manifest" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"ready_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"expired_at" timestamp with time zone,
	"downloads" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "export_packages_state_check" CHECK (state in ('building', 'ready', 'expired')),
	CONSTRAINT "export_packages_ready_check" CHECK ((state = 'building') = (token_hash is null) and (state = 'building' or (ready_at is not null and expires_at is not null and sha256 is not null)))
);
--> statement-breakpoint
ALTER TABLE "console"."export_chunks" ADD CONSTRAINT "export_chunks_package_id_export_packages_id_fk" FOREIGN KEY ("package_id") REFERENCES "console"."export_packages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."export_packages" ADD CONSTRAINT "export_packages_request_id_privacy_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "console"."privacy_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "export_packages_request_key" ON "console"."export_packages" USING btree ("request_id");--> statement-breakpoint
CREATE UNIQUE INDEX "export_packages_token_key" ON "console"."export_packages" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "export_packages_user_idx" ON "console"."export_packages" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "export_packages_expires_idx" ON "console"."export_packages" USING btree ("expires_at") WHERE state = 'ready';--> statement-breakpoint
-- The app builds, serves and expires packages (0003's default privileges give the same; said
-- here so the table's rights are read in one place).
GRANT SELECT, INSERT, UPDATE, DELETE ON console.export_packages, console.export_chunks TO custodian_app;
