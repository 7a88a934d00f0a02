import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Link, useLoaderData, type ShouldRevalidateFunction } from '@remix-run/react';
import { columnHelper, DataTable } from '#app/components/data-table.tsx';
import { guard } from '#app/utils/guard.server.ts';
import { answer, attempt, invariantResponse, refused } from '#app/utils/http.server.ts';
import { NotFoundError } from '#app/utils/errors.ts';
import { openCategory, revealField } from '#app/modules/access/gate.server.ts';
import { isErased } from '#app/modules/privacy/erasure.server.ts';
import { requires } from '#app/modules/auth/access.ts';
import { CATEGORY_INFO } from '#app/modules/users/categories.ts';
import {
  parseKeysetCursor,
  readConversations,
  readPayments,
  readPreferences,
  readProfile,
  readRevealedField,
  readUsage,
  type KeysetCursor,
} from '#app/modules/users/data.server.ts';
import { categoryOfField, MASKED_LAST4, type RevealField } from '#app/modules/users/fields.ts';
import { UserDataErrorBoundary } from '#app/components/users/grant-refusal.tsx';
import { CategoryPageParamsSchema, RevealSchema } from '#app/modules/users/input.server.ts';
import {
  CategoryTabs,
  GrantBanner,
  Revealable,
  UserText,
} from '#app/components/users/user-data.tsx';
import { utc } from '#app/components/time.tsx';
import { countOf, formatCount, label } from '#app/modules/labels.ts';
import type { DataCategory, RequestableCategory } from '#app/modules/vocabulary.ts';
import { encodeCursor } from '#app/utils/cursor.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';

// Law 2: besides users:lookup, every request here needs a live grant covering this staff member,
// this user and this category (checked in openCategory / revealField, before any data is read).
export const access = requires('users:lookup', { writesOnGet: true });

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data ? CATEGORY_INFO[data.category].label : 'User data'} · Custodian` },
];

async function paramsOf(params: unknown) {
  const parsed = CategoryPageParamsSchema.safeParse(params);
  invariantResponse(parsed.success, 'There is no page at this address.', { status: 404 });
  const userId = parsed.data.id.toLowerCase();
  // An erased user's id answers gone (ADR 026), whatever grant still names it.
  invariantResponse(
    !(await isErased(userId)),
    'This user was erased: their data is gone for good.',
    { status: 410 },
  );
  return { userId, category: parsed.data.category };
}

async function readView(category: RequestableCategory, userId: string, after?: KeysetCursor) {
  switch (category) {
    case 'profile': {
      const profile = await readProfile(userId);
      if (!profile) throw new NotFoundError('No user has this id.');
      return { category, profile };
    }
    case 'conversations': {
      const page = await readConversations(userId, { after, limit: 25 });
      return { category, rows: page.rows, next: encodeCursor(page.next) };
    }
    case 'payments':
      return { category, rows: await readPayments(userId) };
    case 'usage': {
      const page = await readUsage(userId, { after, limit: 50 });
      return { category, rows: page.rows, totals: page.totals, next: encodeCursor(page.next) };
    }
    case 'preferences':
      return { category, ...(await readPreferences(userId)) };
  }
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const { userId, category } = await paramsOf(args.params);
  const url = new URL(args.request.url);
  const after =
    category === 'conversations' || category === 'usage'
      ? attempt(() => parseKeysetCursor(url.searchParams.get('after')))
      : undefined;
  const gated = await openCategory(
    me,
    {
      userId,
      category,
      page: after ? 'list:next' : category === 'profile' ? 'profile' : 'list',
      route: url.pathname,
    },
    () => readView(category, userId, after),
  ).catch(answer);
  if (!gated.open) refused(gated.refusal);
  const { grant, data: view } = gated;
  return json({
    userId,
    category,
    grant: { id: grant.grantId, endsAt: grant.endsAt.toISOString(), breakGlass: grant.breakGlass },
    view,
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const { userId, category } = await paramsOf(args.params);
  const parsed = parseForm(RevealSchema, formObject(await args.request.formData()));
  if (!parsed.ok) return json({ fieldErrors: parsed.fieldErrors }, { status: 400 });
  const field = parsed.value.field as RevealField;
  if (categoryOfField(field) !== category) {
    return json(
      { fieldErrors: { field: `This field is not part of ${category}` } },
      { status: 400 },
    );
  }
  const revealed = await revealField(
    me,
    { userId, category, field, route: new URL(args.request.url).pathname },
    () => readRevealedField(userId, field),
  ).catch(answer);
  if (!revealed.open) refused(revealed.refusal);
  return json({ field, value: revealed.data });
}

// A reveal changes nothing on the page but the one field: reloading the page would record a
// second view for nothing.
export const shouldRevalidate: ShouldRevalidateFunction = ({
  formData,
  defaultShouldRevalidate,
}) => (formData?.get('intent') === 'reveal' ? false : defaultShouldRevalidate);

type View = ReturnType<typeof useLoaderData<typeof loader>>['view'];
type ViewOf<C extends DataCategory> = Extract<View, { category: C }>;

function ProfileView({ view }: { view: ViewOf<'profile'> }) {
  const p = view.profile;
  return (
    <section className="panel" aria-labelledby="profile-title">
      <h2 id="profile-title" className="panel-heading">
        Profile
      </h2>
      <dl className="facts">
        <dt>Display name</dt>
        <dd>
          <UserText value={p.displayName} testId="display-name" />
        </dd>
        <dt>Email</dt>
        <dd>
          <Revealable field="email" masked={p.emailMasked} />
        </dd>
        <dt>Phone</dt>
        <dd>
          {p.phoneMasked ? (
            <Revealable field="phone" masked={p.phoneMasked} />
          ) : (
            <span className="muted">none on record</span>
          )}
        </dd>
        <dt>Country</dt>
        <dd>{p.country}</dd>
        <dt>Language</dt>
        <dd>{p.locale}</dd>
        <dt>Plan</dt>
        <dd>{p.plan}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`badge ${p.status === 'active' ? 'active' : 'disabled'}`}>
            {p.status}
          </span>
        </dd>
        <dt>Created</dt>
        <dd>{utc(p.createdAt)}</dd>
        <dt>Last active</dt>
        <dd>{utc(p.lastActiveAt)}</dd>
      </dl>
    </section>
  );
}

type ConversationRow = ViewOf<'conversations'>['rows'][number];
const conversationCol = columnHelper<ConversationRow>();
function conversationColumns(userId: string) {
  return conversationCol.columns([
    conversationCol.accessor('title', {
      header: 'Title',
      cell: (info) => (
        <Link
          to={`/users/${userId}/conversations/${info.row.original.id}`}
          className="clamped"
          title="Open the conversation and its messages"
        >
          {info.getValue() ? (
            <UserText value={info.getValue()} />
          ) : (
            <span className="muted">(untitled)</span>
          )}
        </Link>
      ),
    }),
    conversationCol.accessor('model', { header: 'Model' }),
    conversationCol.accessor('messages', { header: 'Messages' }),
    conversationCol.accessor('updatedAt', {
      header: 'Last message (UTC)',
      cell: (info) => <span className="nowrap">{utc(info.getValue())}</span>,
    }),
    conversationCol.accessor('createdAt', {
      header: 'Started (UTC)',
      cell: (info) => <span className="nowrap">{utc(info.getValue())}</span>,
    }),
  ]);
}

type PaymentRow = ViewOf<'payments'>['rows'][number];
const paymentCol = columnHelper<PaymentRow>();
const paymentColumns = paymentCol.columns([
  paymentCol.accessor('provider', { header: 'Provider' }),
  paymentCol.accessor('cardBrand', { header: 'Card brand' }),
  paymentCol.display({
    id: 'last4',
    header: 'Last four digits',
    cell: (info) => <Revealable field={`last4:${info.row.original.id}`} masked={MASKED_LAST4} />,
  }),
  paymentCol.display({
    id: 'expires',
    header: 'Expires',
    cell: (info) =>
      `${String(info.row.original.expMonth).padStart(2, '0')}/${info.row.original.expYear}`,
  }),
  paymentCol.accessor('createdAt', {
    header: 'Added (UTC)',
    cell: (info) => utc(info.getValue()),
  }),
]);

type UsageRow = ViewOf<'usage'>['rows'][number];
const usageCol = columnHelper<UsageRow>();
const usageColumns = usageCol.columns([
  usageCol.accessor('occurredAt', {
    header: 'When (UTC)',
    cell: (info) => <span className="nowrap">{utc(info.getValue())}</span>,
  }),
  usageCol.accessor('kind', {
    header: 'Kind',
    cell: (info) => <span className="words">{label('usage', info.getValue())}</span>,
  }),
  usageCol.accessor('model', {
    header: 'Model',
    cell: (info) => info.getValue() ?? <span className="muted">—</span>,
  }),
  usageCol.accessor('tokens', {
    header: 'Tokens',
    cell: (info) => <span className="nowrap">{formatCount(info.getValue())}</span>,
  }),
  usageCol.accessor('country', { header: 'Country' }),
]);

type ChangeRow = ViewOf<'preferences'>['changes'][number];
const changeCol = columnHelper<ChangeRow>();
const changeColumns = changeCol.columns([
  changeCol.accessor('changedAt', {
    header: 'When (UTC)',
    cell: (info) => <span className="nowrap">{utc(info.getValue())}</span>,
  }),
  changeCol.accessor('purpose', {
    header: 'Purpose',
    cell: (info) => label('purpose', info.getValue()),
  }),
  changeCol.accessor('allowed', {
    header: 'Set to',
    cell: (info) => (
      <span className={`badge ${info.getValue() ? 'active' : 'disabled'}`}>
        {info.getValue() ? 'allowed' : 'not allowed'}
      </span>
    ),
  }),
  changeCol.accessor('source', { header: 'By', cell: (info) => label('source', info.getValue()) }),
]);

function CategoryView({ view, userId }: { view: View; userId: string }) {
  switch (view.category) {
    case 'profile':
      return <ProfileView view={view} />;
    case 'conversations':
      return (
        <DataTable
          caption="Conversations, most recent first"
          columns={conversationColumns(userId)}
          data={view.rows}
          getRowId={(r) => r.id}
          next={view.next}
          empty="This user has no conversations."
        />
      );
    case 'payments':
      return (
        <DataTable
          caption="Payment references (only provider tokens and last four digits are stored)"
          columns={paymentColumns}
          data={view.rows}
          getRowId={(r) => r.id}
          empty="This user has no payment reference."
        />
      );
    case 'usage':
      return (
        <>
          <section className="panel" aria-labelledby="totals-title">
            <h2 id="totals-title" className="panel-heading">
              Totals
            </h2>
            {view.totals.length === 0 ? (
              <p className="empty">No usage recorded.</p>
            ) : (
              <dl className="facts">
                {view.totals.map((t) => (
                  <div key={t.kind}>
                    <dt>{label('usage', t.kind)}</dt>
                    <dd>
                      {countOf(t.events, 'event')}, {countOf(t.tokens, 'token')}
                    </dd>
                  </div>
                ))}
              </dl>
            )}
          </section>
          <DataTable
            caption="Usage events, most recent first"
            columns={usageColumns}
            data={view.rows}
            getRowId={(r) => r.id}
            next={view.next}
            empty="No usage recorded."
          />
        </>
      );
    case 'preferences':
      return (
        <>
          <section className="panel" aria-labelledby="current-title">
            <h2 id="current-title" className="panel-heading">
              Current choices
            </h2>
            {view.current.length === 0 ? (
              <p className="empty">No preference recorded.</p>
            ) : (
              <dl className="facts">
                {view.current.map((p) => (
                  <div key={p.purpose}>
                    <dt>{label('purpose', p.purpose)}</dt>
                    <dd>
                      <span className={`badge ${p.allowed ? 'active' : 'disabled'}`}>
                        {p.allowed ? 'allowed' : 'not allowed'}
                      </span>{' '}
                      <span className="muted">since {utc(p.updatedAt)}</span>
                    </dd>
                  </div>
                ))}
              </dl>
            )}
          </section>
          <DataTable
            caption="Changes, most recent first (the latest 100)"
            columns={changeColumns}
            data={view.changes}
            getRowId={(r) => r.id}
            empty="No change recorded."
          />
        </>
      );
  }
}

export default function UserCategoryRoute() {
  const { userId, category, grant, view } = useLoaderData<typeof loader>();
  return (
    <>
      <p>
        <Link to={`/users/${userId}`}>← User {userId.slice(0, 8)}</Link>
      </p>
      <h1>{CATEGORY_INFO[category].label}</h1>
      <CategoryTabs userId={userId} current={category} />
      <GrantBanner grant={grant} />
      <CategoryView view={view} userId={userId} />
    </>
  );
}

export function ErrorBoundary() {
  return <UserDataErrorBoundary />;
}
