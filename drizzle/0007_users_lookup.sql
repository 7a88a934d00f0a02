CREATE TABLE "console"."user_lookup_days" (
	"staff_id" uuid NOT NULL,
	"day" date NOT NULL,
	"distinct_targets" integer NOT NULL,
	"refused" integer DEFAULT 0 NOT NULL,
	"first_refused_at" timestamp with time zone,
	CONSTRAINT "user_lookup_days_staff_id_day_pk" PRIMARY KEY("staff_id","day")
);
--> statement-breakpoint
CREATE TABLE "console"."user_lookup_targets" (
	"staff_id" uuid NOT NULL,
	"day" date NOT NULL,
	"target" text NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	CONSTRAINT "user_lookup_targets_staff_id_day_target_pk" PRIMARY KEY("staff_id","day","target")
);
--> statement-breakpoint
ALTER TABLE "console"."user_lookup_days" ADD CONSTRAINT "user_lookup_days_staff_id_staff_id_fk" FOREIGN KEY ("staff_id") REFERENCES "console"."staff"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "user_lookup_days_refused_idx" ON "console"."user_lookup_days" USING btree ("day") WHERE "console"."user_lookup_days"."refused" > 0;