import type { LoaderFunctionArgs } from '@remix-run/node';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { publicAccess } from '#app/modules/auth/access.ts';

export const access = publicAccess;

// Any address no other route claims: a 404 inside the layout.
export async function loader(args: LoaderFunctionArgs) {
  await guard(args, access);
  throw new Response('There is no page at this address.', { status: 404 });
}

export default function NotFoundRoute() {
  return null;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
