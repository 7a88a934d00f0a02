CREATE SCHEMA "console";
--> statement-breakpoint
CREATE SCHEMA "product";
--> statement-breakpoint
CREATE TYPE "product"."card_brand" AS ENUM('visa', 'mastercard', 'amex', 'discover', 'jcb', 'unionpay');--> statement-breakpoint
CREATE TYPE "product"."message_role" AS ENUM('user', 'assistant', 'system');--> statement-breakpoint
CREATE TYPE "product"."model" AS ENUM('orca-mini', 'orca-1', 'orca-2', 'orca-2-vision', 'orca-reasoner');--> statement-breakpoint
CREATE TYPE "product"."payment_provider" AS ENUM('stripe', 'paypal');--> statement-breakpoint
CREATE TYPE "product"."plan" AS ENUM('free', 'plus', 'pro', 'team', 'enterprise');--> statement-breakpoint
CREATE TYPE "product"."preference_source" AS ENUM('user', 'privacy_request', 'default', 'import');--> statement-breakpoint
CREATE TYPE "product"."purpose" AS ENUM('training', 'analytics', 'personalization', 'marketing');--> statement-breakpoint
CREATE TYPE "console"."staff_status" AS ENUM('active', 'disabled');--> statement-breakpoint
CREATE TYPE "product"."usage_kind" AS ENUM('session_start', 'conversation_start', 'message', 'file_upload', 'voice_input');--> statement-breakpoint
CREATE TYPE "product"."user_status" AS ENUM('active', 'suspended', 'closed');--> statement-breakpoint
CREATE TABLE "console"."auth_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"action" text NOT NULL,
	"outcome" text NOT NULL,
	"actor_staff_id" uuid,
	"target_staff_id" uuid,
	"client_address" "inet",
	"user_agent" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."conversations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"title_enc" "bytea" NOT NULL,
	"model" "product"."model" NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."data_use_preference_changes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"purpose" "product"."purpose" NOT NULL,
	"allowed" boolean NOT NULL,
	"source" "product"."preference_source" NOT NULL,
	"changed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."data_use_preferences" (
	"user_id" uuid NOT NULL,
	"purpose" "product"."purpose" NOT NULL,
	"allowed" boolean NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "data_use_preferences_user_id_purpose_pk" PRIMARY KEY("user_id","purpose")
);
--> statement-breakpoint
CREATE TABLE "product"."messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"conversation_id" uuid NOT NULL,
	"role" "product"."message_role" NOT NULL,
	"content_enc" "bytea" NOT NULL,
	"token_count" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."payment_references" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"provider" "product"."payment_provider" NOT NULL,
	"customer_token" text NOT NULL,
	"card_brand" "product"."card_brand" NOT NULL,
	"last4" text NOT NULL,
	"exp_month" smallint NOT NULL,
	"exp_year" smallint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payment_references_last4_check" CHECK (last4 ~ '^[0-9]{4}$'),
	CONSTRAINT "payment_references_exp_month_check" CHECK (exp_month between 1 and 12)
);
--> statement-breakpoint
CREATE TABLE "console"."permissions" (
	"code" text PRIMARY KEY NOT NULL,
	"description" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."role_permissions" (
	"role_code" text NOT NULL,
	"permission_code" text NOT NULL,
	CONSTRAINT "role_permissions_role_code_permission_code_pk" PRIMARY KEY("role_code","permission_code")
);
--> statement-breakpoint
CREATE TABLE "console"."roles" (
	"code" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "console"."sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"token_hash" "bytea" NOT NULL,
	"staff_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"client_address" "inet",
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "console"."sign_in_throttle" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" integer NOT NULL,
	"first_failure_at" timestamp with time zone NOT NULL,
	"last_failure_at" timestamp with time zone NOT NULL,
	"locked_until" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "console"."staff" (
	"id" uuid PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"display_name" text NOT NULL,
	"password_hash" text NOT NULL,
	"must_change_password" boolean DEFAULT false NOT NULL,
	"status" "console"."staff_status" DEFAULT 'active' NOT NULL,
	"is_demo" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"disabled_at" timestamp with time zone,
	"password_changed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "console"."staff_roles" (
	"staff_id" uuid NOT NULL,
	"role_code" text NOT NULL,
	"granted_at" timestamp with time zone NOT NULL,
	"granted_by" uuid,
	CONSTRAINT "staff_roles_staff_id_role_code_pk" PRIMARY KEY("staff_id","role_code")
);
--> statement-breakpoint
CREATE TABLE "product"."usage_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "product"."usage_kind" NOT NULL,
	"model" "product"."model",
	"tokens" integer DEFAULT 0 NOT NULL,
	"country" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."user_keys" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"key_version" smallint DEFAULT 1 NOT NULL,
	"master_key_id" text NOT NULL,
	"wrapped_key" "bytea" NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "product"."users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"email_enc" "bytea" NOT NULL,
	"email_index" "bytea" NOT NULL,
	"email_index_key_id" text NOT NULL,
	"email_masked" text NOT NULL,
	"display_name_enc" "bytea" NOT NULL,
	"phone_enc" "bytea",
	"country" text NOT NULL,
	"plan" "product"."plan" NOT NULL,
	"locale" text NOT NULL,
	"status" "product"."user_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_active_at" timestamp with time zone,
	CONSTRAINT "users_country_check" CHECK (country in ('US', 'CA', 'MX', 'BR', 'AR', 'CL', 'CO', 'GB', 'IE', 'FR', 'DE', 'NL', 'BE', 'ES', 'PT', 'IT', 'CH', 'AT', 'SE', 'NO', 'DK', 'FI', 'PL', 'CZ', 'RO', 'GR', 'TR', 'IL', 'EG', 'NG', 'KE', 'ZA', 'AE', 'SA', 'IN', 'PK', 'BD', 'ID', 'PH', 'VN', 'TH', 'MY', 'SG', 'JP', 'KR', 'CN', 'TW', 'AU', 'NZ', 'UA')),
	CONSTRAINT "users_locale_check" CHECK (locale in ('en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES', 'pt-BR', 'ja-JP', 'ko-KR', 'hi-IN', 'ar-EG', 'he-IL', 'zh-CN', 'it-IT', 'nl-NL', 'pl-PL', 'sv-SE', 'tr-TR'))
);
--> statement-breakpoint
ALTER TABLE "console"."role_permissions" ADD CONSTRAINT "role_permissions_role_code_roles_code_fk" FOREIGN KEY ("role_code") REFERENCES "console"."roles"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."role_permissions" ADD CONSTRAINT "role_permissions_permission_code_permissions_code_fk" FOREIGN KEY ("permission_code") REFERENCES "console"."permissions"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."sessions" ADD CONSTRAINT "sessions_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."staff_roles" ADD CONSTRAINT "staff_roles_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."staff_roles" ADD CONSTRAINT "staff_roles_role_code_roles_code_fk" FOREIGN KEY ("role_code") REFERENCES "console"."roles"("code") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "auth_events_occurred_idx" ON "console"."auth_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "conversations_user_idx" ON "product"."conversations" USING btree ("user_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "data_use_preference_changes_user_idx" ON "product"."data_use_preference_changes" USING btree ("user_id","changed_at");--> statement-breakpoint
CREATE INDEX "messages_conversation_idx" ON "product"."messages" USING btree ("conversation_id","created_at","id");--> statement-breakpoint
CREATE INDEX "messages_user_idx" ON "product"."messages" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "payment_references_user_idx" ON "product"."payment_references" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_token_hash_key" ON "console"."sessions" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "sessions_staff_idx" ON "console"."sessions" USING btree ("staff_id");--> statement-breakpoint
CREATE UNIQUE INDEX "staff_email_key" ON "console"."staff" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "usage_events_occurred_idx" ON "product"."usage_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "usage_events_user_idx" ON "product"."usage_events" USING btree ("user_id","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_index_key" ON "product"."users" USING btree ("email_index");