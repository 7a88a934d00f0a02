import type { LoaderFunctionArgs } from '@remix-run/node';
import { publicAccess } from '#app/modules/auth/access.ts';
import { openExportDownload } from '#app/modules/privacy/package.server.ts';
import { guard, visitor } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

// The download link of an access or portability package, sent to the user in the completion
// message (ADR 025). It is the user's, not the console's: no staff session is asked for or used,
// and whoever holds the link gets the package until it expires (404 unknown, 410 expired). Every
// download is audited before its first byte leaves.
export const access = publicAccess;

// The token is a credential: nothing is stored, and the address is never sent onwards.
const HEADERS = {
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
};

export async function loader(args: LoaderFunctionArgs) {
  // A staff member who opens a user's link is on record as themselves; anyone else as a visitor.
  const actor = (await guard(args, access)) ?? visitor(args);
  const opened = await openExportDownload(args.params.token ?? '', actor).catch(
    (error: unknown) => {
      try {
        answer(error);
      } catch (response) {
        if (response instanceof Response) {
          for (const [name, value] of Object.entries(HEADERS)) response.headers.set(name, value);
        }
        throw response;
      }
    },
  );
  return new Response(opened.stream, {
    status: 200,
    headers: {
      ...HEADERS,
      'Content-Type': 'application/zip',
      'Content-Length': String(opened.bytes),
      'Content-Disposition': `attachment; filename="${opened.fileName}"`,
    },
  });
}
