CREATE TABLE "console"."analytics_budgets" (
	"dataset" text NOT NULL,
	"month" text NOT NULL,
	"budget_micros" bigint NOT NULL,
	"spent_micros" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "analytics_budgets_dataset_month_pk" PRIMARY KEY("dataset","month"),
	CONSTRAINT "analytics_budgets_dataset_check" CHECK (dataset in ('usage', 'preferences')),
	CONSTRAINT "analytics_budgets_month_check" CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
	CONSTRAINT "analytics_budgets_amounts_check" CHECK (budget_micros >= 0 and spent_micros >= 0)
);
--> statement-breakpoint
CREATE TABLE "console"."analytics_cells" (
	"release_id" uuid NOT NULL,
	"metric" text NOT NULL,
	"category" text DEFAULT '' NOT NULL,
	"value" bigint NOT NULL,
	"half_width" integer NOT NULL,
	"low_precision" boolean NOT NULL,
	"cohort" bigint NOT NULL,
	CONSTRAINT "analytics_cells_release_id_metric_category_pk" PRIMARY KEY("release_id","metric","category"),
	CONSTRAINT "analytics_cells_half_width_check" CHECK (half_width >= 0)
);
--> statement-breakpoint
CREATE TABLE "console"."analytics_contribution_models" (
	"day" date NOT NULL,
	"user_id" uuid NOT NULL,
	"model" "product"."model" NOT NULL,
	"conversations" integer NOT NULL,
	CONSTRAINT "analytics_contribution_models_day_user_id_model_pk" PRIMARY KEY("day","user_id","model"),
	CONSTRAINT "analytics_contribution_models_positive_check" CHECK (conversations > 0)
);
--> statement-breakpoint
CREATE TABLE "console"."analytics_contributions" (
	"day" date NOT NULL,
	"user_id" uuid NOT NULL,
	"plan" "product"."plan" NOT NULL,
	"country" text NOT NULL,
	"messages" integer NOT NULL,
	"conversations" integer NOT NULL,
	"tokens" integer NOT NULL,
	CONSTRAINT "analytics_contributions_day_user_id_pk" PRIMARY KEY("day","user_id"),
	CONSTRAINT "analytics_contributions_bounds_check" CHECK (messages >= 0 and conversations >= 0 and tokens >= 0)
);
--> statement-breakpoint
CREATE TABLE "console"."analytics_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"dataset" text NOT NULL,
	"month" text NOT NULL,
	"kind" text NOT NULL,
	"period_start" date NOT NULL,
	"release_id" uuid,
	"epsilon_micros" bigint NOT NULL,
	"outcome" text NOT NULL,
	"spent_before_micros" bigint NOT NULL,
	"budget_micros" bigint NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "analytics_ledger_outcome_check" CHECK (outcome in ('spent', 'refused')),
	CONSTRAINT "analytics_ledger_release_check" CHECK ((outcome = 'spent') = (release_id is not null))
);
--> statement-breakpoint
CREATE TABLE "console"."analytics_releases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"dataset" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"epsilon_micros" bigint NOT NULL,
	"min_cohort" integer NOT NULL,
	"params" jsonb NOT NULL,
	"released_at" timestamp with time zone NOT NULL,
	CONSTRAINT "analytics_releases_kind_check" CHECK (kind in ('daily', 'weekly', 'monthly', 'preferences')),
	CONSTRAINT "analytics_releases_dataset_check" CHECK (dataset in ('usage', 'preferences')),
	CONSTRAINT "analytics_releases_period_check" CHECK (period_end > period_start),
	CONSTRAINT "analytics_releases_epsilon_check" CHECK (epsilon_micros > 0 and min_cohort >= 1)
);
--> statement-breakpoint
ALTER TABLE "console"."analytics_cells" ADD CONSTRAINT "analytics_cells_release_id_analytics_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "console"."analytics_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "console"."analytics_ledger" ADD CONSTRAINT "analytics_ledger_release_id_analytics_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "console"."analytics_releases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "analytics_contribution_models_user_idx" ON "console"."analytics_contribution_models" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "analytics_contributions_user_idx" ON "console"."analytics_contributions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "analytics_ledger_month_idx" ON "console"."analytics_ledger" USING btree ("dataset","month","id");--> statement-breakpoint
CREATE INDEX "analytics_ledger_period_idx" ON "console"."analytics_ledger" USING btree ("kind","period_start","id");--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_releases_period_key" ON "console"."analytics_releases" USING btree ("kind","period_start");