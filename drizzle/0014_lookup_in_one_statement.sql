-- A user lookup's place in the daily count of distinct users and its audit entry, in one
-- statement (one round trip instead of five): the target is counted unless it already was today,
-- the entry is queued, and the day's count of distinct users comes back. A new target past the
-- limit is not counted, nothing is recorded, and null comes back (the app then records the
-- refusal). Runs as the caller (custodian_app), with its privileges.
CREATE FUNCTION console.record_lookup(
  p_staff uuid, p_day date, p_target text, p_at timestamptz, p_limit integer, p_body bytea
) RETURNS integer
LANGUAGE plpgsql
SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  counted integer;
BEGIN
  INSERT INTO console.user_lookup_targets (staff_id, day, target, first_at)
  VALUES (p_staff, p_day, p_target, p_at)
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    -- The day's row serialises a staff member's concurrent lookups: the update waits for the
    -- lock, then sees the committed count.
    INSERT INTO console.user_lookup_days AS d (staff_id, day, distinct_targets)
    VALUES (p_staff, p_day, 1)
    ON CONFLICT (staff_id, day) DO UPDATE SET distinct_targets = d.distinct_targets + 1
      WHERE d.distinct_targets < p_limit;
    IF NOT FOUND THEN
      DELETE FROM console.user_lookup_targets
       WHERE staff_id = p_staff AND day = p_day AND target = p_target;
      RETURN NULL;
    END IF;
  END IF;
  INSERT INTO console.audit_intake (body, enqueued_at) VALUES (p_body, p_at);
  SELECT d.distinct_targets INTO counted FROM console.user_lookup_days d
   WHERE d.staff_id = p_staff AND d.day = p_day;
  RETURN coalesce(counted, 0);
END
$$;
