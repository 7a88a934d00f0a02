CREATE TABLE "console"."analytics_contributors" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"last_day" date NOT NULL
);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON console.analytics_contributors TO custodian_app;
--> statement-breakpoint
-- Users who already have contribution rows (from before this table).
INSERT INTO console.analytics_contributors (user_id, last_day)
SELECT user_id, max(day) FROM console.analytics_contributions GROUP BY user_id
ON CONFLICT (user_id) DO NOTHING;
