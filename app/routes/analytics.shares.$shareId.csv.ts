import type { LoaderFunctionArgs } from '@remix-run/node';
import { ShareIdSchema } from '#app/modules/analytics/input.server.ts';
import { shareCsv } from '#app/modules/analytics/shares.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt } from '#app/utils/http.server.ts';

// The CSV of one share of the sharing log (ADR 037), for its sharers to hand over or check: the
// same bytes as when it was shared (the SHA-256 is checked), each download audited first.

export const access = requires('analytics:share', { writesOnGet: true });

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { shareId } = attempt(() => parseParams(ShareIdSchema, args.params));
  const csv = await shareCsv(me, shareId).catch(answer);
  return new Response(csv.text, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="analytics-share-${shareId}.csv"`,
      'Cache-Control': 'no-store',
      'X-Custodian-Rows': String(csv.rows),
      'X-Custodian-Sha256': csv.sha256,
    },
  });
}
