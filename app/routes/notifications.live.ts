import type { LoaderFunctionArgs } from '@remix-run/node';
import { json } from '@remix-run/node';
import { NotificationsLiveQuerySchema } from '#app/modules/access/input.server.ts';
import { grantPulse } from '#app/modules/access/list.server.ts';
import { notificationPulse } from '#app/modules/access/notifications.server.ts';
import { signedIn } from '#app/modules/auth/access.ts';
import { parseParams } from '#app/utils/forms.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { attempt } from '#app/utils/http.server.ts';

// What the console's pages poll every few seconds while they are visible (app/root.tsx): the
// unread count and newest notification, and with `?grant=<id>` a token that changes when the
// grant page open would show something new. Nothing personal, nothing audited, never cached, and
// not the staff member's activity: polling does not keep an idle session alive.

export const access = signedIn({ background: true });

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const params = new URL(args.request.url).searchParams;
  const query = attempt(() =>
    parseParams(
      NotificationsLiveQuerySchema,
      Object.fromEntries([...params].filter(([, v]) => v !== '')),
    ),
  );
  const [pulse, grant] = await Promise.all([
    notificationPulse(me.staffId),
    query.grant ? grantPulse({ grantId: query.grant.toLowerCase(), viewer: me }) : null,
  ]);
  return json(
    { ...pulse, grant },
    { headers: { 'Cache-Control': 'no-store', 'X-Robots-Tag': 'noindex' } },
  );
}
