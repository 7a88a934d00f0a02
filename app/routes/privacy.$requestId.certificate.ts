import type { LoaderFunctionArgs } from '@remix-run/node';
import { requires } from '#app/modules/auth/access.ts';
import { downloadCertificate } from '#app/modules/privacy/erasure.server.ts';
import { guard } from '#app/utils/guard.server.ts';
import { answer } from '#app/utils/http.server.ts';

// The signed erasure certificate of a completed erasure (ADR 026): a C2SP signed note under the
// audit log's key, verifiable with `npx custodian audit key`'s verifier key. Each download is
// audited (privacy.download).
export const access = requires('privacy:process', { writesOnGet: true });

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const requestId = args.params.requestId ?? '';
  const { note, sha256 } = await downloadCertificate(requestId, me).catch(answer);
  return new Response(note, {
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="erasure-certificate-${requestId}.txt"`,
      'Cache-Control': 'no-store',
      'X-Content-SHA256': sha256,
    },
  });
}
