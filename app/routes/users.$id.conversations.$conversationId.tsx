import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { Pager } from '#app/components/data-table.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt, invariantResponse, refused } from '#app/utils/http.server.ts';
import { openCategory } from '#app/modules/access/gate.server.ts';
import { isErased } from '#app/modules/privacy/erasure.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { parseKeysetCursor, readConversation } from '#app/modules/users/data.server.ts';
import { UserDataErrorBoundary } from '#app/components/users/grant-refusal.tsx';
import { ConversationParamsSchema } from '#app/modules/users/input.server.ts';
import { utc } from '#app/components/time.tsx';
import { GrantBanner, UserText } from '#app/components/users/user-data.tsx';
import { encodeCursor } from '#app/utils/cursor.server.ts';

// Law 2: besides users:lookup, a live conversations grant for this user (checked in openCategory,
// before any data is read). The conversation must belong to the user in the address.
export const access = requires('users:lookup', { writesOnGet: true });

export const meta: MetaFunction = () => [{ title: 'Conversation · Custodian' }];

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const parsed = ConversationParamsSchema.safeParse(args.params);
  invariantResponse(parsed.success, 'There is no page at this address.', { status: 404 });
  const userId = parsed.data.id.toLowerCase();
  invariantResponse(
    !(await isErased(userId)),
    'This user was erased: their data is gone for good.',
    { status: 410 },
  );
  const conversationId = parsed.data.conversationId.toLowerCase();
  const url = new URL(args.request.url);
  const after = attempt(() => parseKeysetCursor(url.searchParams.get('after')));
  const gated = await openCategory(
    me,
    {
      userId,
      category: 'conversations',
      page: `conversation:${conversationId}`,
      route: url.pathname,
    },
    () => readConversation(userId, conversationId, { after, limit: 50 }),
  ).catch(answer);
  if (!gated.open) refused(gated.refusal);
  const { grant, data: conversation } = gated;
  invariantResponse(conversation, 'This user has no conversation with this id.', { status: 404 });
  return json({
    userId,
    grant: { id: grant.grantId, endsAt: grant.endsAt.toISOString(), breakGlass: grant.breakGlass },
    conversation: { ...conversation, next: encodeCursor(conversation.next) },
  });
}

export default function ConversationRoute() {
  const { userId, grant, conversation } = useLoaderData<typeof loader>();
  const [params] = useSearchParams();
  return (
    <>
      <p>
        <Link to={`/users/${userId}/conversations`}>
          ← Conversations of user {userId.slice(0, 8)}
        </Link>
      </p>
      <h1 className="user-text">
        {conversation.title ? (
          <UserText value={conversation.title} testId="conversation-title" />
        ) : (
          <span className="muted">(untitled)</span>
        )}
      </h1>
      <GrantBanner grant={grant} />
      <p className="muted">
        Model {conversation.model} · started {utc(conversation.createdAt)} · last message{' '}
        {utc(conversation.updatedAt)}
      </p>
      {conversation.messages.length === 0 ? (
        <p className="empty">{params.has('after') ? 'No more messages.' : 'No messages.'}</p>
      ) : (
        <ol aria-label="Messages, oldest first" className="messages">
          {conversation.messages.map((m) => (
            <li key={m.id} className="message" data-role={m.role}>
              <p className="muted">
                <strong>{m.role}</strong> · {utc(m.createdAt)} · {m.tokenCount} tokens
              </p>
              <div data-testid="message-content" className="user-text">
                <UserText value={m.content} />
              </div>
            </li>
          ))}
        </ol>
      )}
      <Pager
        next={conversation.next}
        shown={conversation.messages.length > 0}
        nextLabel="Later messages"
        last="End of conversation"
      />
    </>
  );
}

export function ErrorBoundary() {
  return <UserDataErrorBoundary />;
}
