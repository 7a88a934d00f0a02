CREATE TABLE "console"."audit_checkpoints" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tree_size" bigint NOT NULL,
	"root" "bytea" NOT NULL,
	"note" text NOT NULL,
	"key_name" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."audit_entries" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"body" "bytea" NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"action" text NOT NULL,
	"outcome" text NOT NULL,
	"actor_staff_id" uuid,
	"user_id" uuid,
	"grant_id" uuid,
	"privacy_request_id" uuid,
	"session_id" uuid
);
--> statement-breakpoint
CREATE TABLE "console"."audit_intake" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"body" "bytea" NOT NULL,
	"enqueued_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."audit_leaves" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"leaf_hash" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."audit_nodes" (
	"level" smallint NOT NULL,
	"idx" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "audit_nodes_level_idx_pk" PRIMARY KEY("level","idx")
);
--> statement-breakpoint
CREATE TABLE "console"."audit_tree_heads" (
	"tree_size" bigint PRIMARY KEY NOT NULL,
	"root" "bytea" NOT NULL,
	"frontier" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."verification_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"staff_id" uuid,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"total" bigint DEFAULT 0 NOT NULL,
	"done" bigint DEFAULT 0 NOT NULL,
	"ok" boolean,
	"first_bad_seq" bigint,
	"result" jsonb
);
--> statement-breakpoint
CREATE INDEX "audit_entries_time_idx" ON "console"."audit_entries" USING btree ("occurred_at","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_actor_idx" ON "console"."audit_entries" USING btree ("actor_staff_id","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_user_idx" ON "console"."audit_entries" USING btree ("user_id","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_action_idx" ON "console"."audit_entries" USING btree ("action","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_grant_idx" ON "console"."audit_entries" USING btree ("grant_id","seq");--> statement-breakpoint
CREATE INDEX "audit_entries_request_idx" ON "console"."audit_entries" USING btree ("privacy_request_id","seq");