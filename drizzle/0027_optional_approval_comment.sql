-- Issue 13: an approval may be given from the queue in one click, without a comment; a denial
-- still says why. The comment becomes nullable for approvals only.
ALTER TABLE "console"."grant_decisions" DROP CONSTRAINT "grant_decisions_comment_check";--> statement-breakpoint
ALTER TABLE "console"."grant_decisions" ALTER COLUMN "comment" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "console"."grant_decisions" ADD CONSTRAINT "grant_decisions_comment_check" CHECK ((comment is null and decision = 'approve') or char_length(comment) between 1 and 2000);