import { categoryList } from '#app/components/access/grant-ui.tsx';
import { utc } from '#app/components/time.tsx';
import { ROLE_NAMES, type Role } from '#app/modules/auth/permissions.ts';

// The layout's words, put together by the root loader. NOTE: a module that root.tsx imports, even
// for its loader alone, lands in the chunk every page loads unless it is a `.server` module (the
// browser gets an empty one): the grant labels and the permission catalogue stay here (ADR 016).

export function roleNamesOf(roles: readonly Role[]): string[] {
  return roles.map((r) => ROLE_NAMES[r] ?? r);
}

/** The break-glass banner's lines: what the grant opens, whose data, until when. */
export function breakGlassBannerOf(
  grants: readonly {
    grantId: string;
    userId: string;
    categories: readonly string[];
    endsAt: Date;
  }[],
) {
  return grants.map((g) => ({
    grantId: g.grantId,
    userId: g.userId,
    categories: categoryList(g.categories).toLowerCase(),
    until: utc(g.endsAt.toISOString()),
  }));
}
