import { getSql } from '#app/db/client.server.ts';
import { GrantRequiredError, type MissingGrant } from '#app/modules/access/errors.ts';
import { liveGrantsFor, requireLiveGrant } from '#app/modules/access/live.server.ts';
import type { DataCategory, ReasonCode } from '#app/modules/vocabulary.ts';

// What the user pages need to know about grants, through the access module's one live-grant
// check (asked at every request on the injectable clock, never cached): is there a live grant
// covering this staff member, this user and this category, until when, and if not, why not.

export interface LiveGrant {
  id: string;
  categories: DataCategory[];
  startsAt: Date;
  endsAt: Date;
  breakGlass: boolean;
  reasonCode: ReasonCode;
}

export type GateAnswer =
  | { live: true; grant: LiveGrant }
  | {
      live: false;
      /** The audit code: no_grant, grant_pending, grant_expired, grant_revoked, … */
      reason: string;
      missing: MissingGrant;
      message: string;
      /** When a scheduled grant starts or an expired one ended. */
      at: Date | null;
    };

export async function checkLiveGrant(scope: {
  staffId: string;
  userId: string;
  category: DataCategory;
}): Promise<GateAnswer> {
  try {
    const grant = await requireLiveGrant(scope);
    return {
      live: true,
      grant: {
        id: grant.grantId,
        categories: grant.categories,
        startsAt: grant.startsAt,
        endsAt: grant.endsAt,
        breakGlass: grant.breakGlass,
        reasonCode: grant.reasonCode,
      },
    };
  } catch (error) {
    if (!(error instanceof GrantRequiredError)) throw error;
    return {
      live: false,
      reason: error.reason,
      missing: error.missing,
      message: error.message,
      at: error.at,
    };
  }
}

/** For each category, the live grant that covers it now, if any. */
export async function liveGrantsByCategory(
  staffId: string,
  userId: string,
): Promise<Partial<Record<DataCategory, LiveGrant>>> {
  const live = await liveGrantsFor({ staffId, userId });
  const out: Partial<Record<DataCategory, LiveGrant>> = {};
  for (const [category, g] of Object.entries(live) as [
    DataCategory,
    (typeof live)[DataCategory],
  ][]) {
    if (g) {
      out[category] = {
        id: g.grantId,
        categories: g.categories,
        startsAt: g.startsAt,
        endsAt: g.endsAt,
        breakGlass: g.breakGlass,
        reasonCode: g.reasonCode,
      };
    }
  }
  return out;
}

/** The reason code and ticket of each grant (for "why" in a user's access history). */
export async function grantReasons(ids: readonly string[]) {
  const unique = [...new Set(ids)];
  if (unique.length === 0)
    return new Map<string, { reasonCode: string; ticketRef: string | null }>();
  const rows = await getSql()<{ id: string; reason_code: string; ticket_ref: string | null }[]>`
    select id, reason_code, ticket_ref from console.grants where id = any(${unique}::uuid[])`;
  return new Map(rows.map((r) => [r.id, { reasonCode: r.reason_code, ticketRef: r.ticket_ref }]));
}
