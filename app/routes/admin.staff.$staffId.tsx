import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { json } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { GeneralErrorBoundary } from '#app/components/error-boundary.tsx';
import { StaffName } from '#app/components/isolated-text.tsx';
import { guard, requireRecentSecondFactor } from '#app/utils/guard.server.ts';
import { SelectField } from '#app/components/form-field.tsx';
import { FactorResetRefused, resetFactors } from '#app/modules/auth/factors.server.ts';
import { FACTOR_RESET_REASON_NAMES, FACTOR_RESET_REASONS } from '#app/modules/auth/vocabulary.ts';
import { requires } from '#app/modules/auth/access.ts';
import { disableStaff } from '#app/modules/access/grants.server.ts';
import { recentSignIns } from '#app/modules/audit/sign-ins.server.ts';
import { StaffActionSchema, StaffParamsSchema } from '#app/modules/auth/input.server.ts';
import { ROLE_NAMES, ROLES, type Role } from '#app/modules/auth/permissions.ts';
import {
  getStaffDetail,
  setSecondFactorRequired,
  setStaffStatus,
  StaffError,
} from '#app/modules/auth/staff.server.ts';
import {
  changeStaffRoles,
  pendingRoleRequestOf,
} from '#app/modules/access/role-requests.server.ts';
import { formObject, parseForm } from '#app/utils/forms.server.ts';
import { utc } from '#app/components/time.tsx';

export const access = requires('staff:manage');

export const meta: MetaFunction = () => [{ title: 'Staff member · Custodian' }];

function staffIdOf(params: unknown) {
  const parsed = StaffParamsSchema.safeParse(params);
  if (!parsed.success) throw new Response('No staff member has this id.', { status: 404 });
  return parsed.data.staffId;
}

export async function loader(args: LoaderFunctionArgs) {
  const me = await guard(args, access);
  const staffId = staffIdOf(args.params);
  const person = await getStaffDetail(staffId);
  if (!person) throw new Response('No staff member has this id.', { status: 404 });
  const [signIns, pending] = await Promise.all([
    recentSignIns(staffId, 10),
    pendingRoleRequestOf(staffId),
  ]);
  return json({
    pending: pending && {
      ...pending,
      requestedAt: pending.requestedAt.toISOString(),
      mine: pending.requestedBy === me.staffId,
    },
    person: {
      ...person,
      createdAt: person.createdAt.toISOString(),
      disabledAt: person.disabledAt?.toISOString() ?? null,
    },
    signIns: signIns.map((s) => ({ ...s, occurredAt: s.occurredAt.toISOString() })),
    isSelf: me.staffId === staffId,
  });
}

export async function action(args: ActionFunctionArgs) {
  const me = await guard(args, access);
  const staffId = staffIdOf(args.params);
  const parsed = parseForm(StaffActionSchema, formObject(await args.request.formData(), ['roles']));
  if (!parsed.ok) {
    return json({ fieldErrors: parsed.fieldErrors, done: null, pending: [] }, { status: 400 });
  }
  if (parsed.value.intent === 'reset-factors') {
    // An admin's reset of another's factors (ADR 038): never one's own, and only with a fresh
    // second factor of one's own.
    if (staffId === me.staffId) {
      return json(
        {
          fieldErrors: { factors: 'Nobody resets their own second factors; another admin must' },
          done: null,
          pending: [],
        },
        { status: 400 },
      );
    }
    await requireRecentSecondFactor(me, 'factor.manage', `/admin/staff/${staffId}`);
    try {
      await resetFactors(staffId, parsed.value.reason, me);
    } catch (error) {
      if (error instanceof FactorResetRefused) {
        return json(
          { fieldErrors: { factors: error.message }, done: null, pending: [] },
          { status: 400 },
        );
      }
      throw error;
    }
    return json({ fieldErrors: {}, done: 'reset-factors' as const, pending: [] });
  }
  try {
    const intent = parsed.value.intent;
    let pending: string[] = [];
    if (intent === 'roles') ({ pending } = await changeStaffRoles(staffId, parsed.value.roles, me));
    else if (intent === 'disable') await disableStaff(staffId, me);
    else if (intent === 'second-factor')
      await setSecondFactorRequired(staffId, parsed.value.required === 'on', me);
    else await setStaffStatus(staffId, 'active', me);
    return json({ fieldErrors: {}, done: intent, pending });
  } catch (error) {
    if (error instanceof StaffError) {
      return json(
        { fieldErrors: { [error.field]: error.message }, done: null, pending: [] },
        { status: 400 },
      );
    }
    throw error;
  }
}

export default function StaffDetailRoute() {
  const { person, signIns, isSelf, pending } = useLoaderData<typeof loader>();
  const data = useActionData<typeof action>();
  const [params] = useSearchParams();
  const errors: Record<string, string | undefined> = data?.fieldErrors ?? {};
  return (
    <>
      <p>
        <Link to="/admin/staff">← All staff</Link>
      </p>
      <h1>
        <StaffName name={person.displayName} />
      </h1>
      {params.get('created') === 'pending' ? (
        <p className="notice" role="status">
          Account created. Its roles that reach personal data or decide access wait for a second
          person; when they are approved, the temporary password stops working and{' '}
          <StaffName name={person.displayName} /> sets a password through a one-time link.
        </p>
      ) : params.get('created') ? (
        <p className="notice" role="status">
          Account created. Give the temporary password to <StaffName name={person.displayName} />{' '}
          through a separate channel.
        </p>
      ) : null}
      {data?.done ? (
        <p className="notice" role="status">
          {data.done === 'roles'
            ? data.pending.length
              ? `Roles saved. ${data.pending.map((r) => ROLE_NAMES[r as Role] ?? r).join(', ')}: waiting for a second person (another admin or a security reviewer).`
              : 'Roles saved.'
            : data.done === 'disable'
              ? 'Account disabled; its sessions have ended.'
              : data.done === 'second-factor'
                ? 'Second-factor requirement saved.'
                : data.done === 'reset-factors'
                  ? 'Second factors removed and sessions ended. If the roles need a factor, the next sign-in opens only enrolment.'
                  : 'Account enabled.'}
        </p>
      ) : null}
      <section className="panel">
        <dl className="facts">
          <dt>Email</dt>
          <dd>{person.email}</dd>
          <dt>Status</dt>
          <dd>
            <span className={`badge ${person.status}`}>{person.status}</span>
            {person.mustChangePassword ? <span className="badge">temporary password</span> : null}
          </dd>
          <dt>Created</dt>
          <dd>{utc(person.createdAt, 'second')}</dd>
          {person.disabledAt ? (
            <>
              <dt>Disabled</dt>
              <dd>{utc(person.disabledAt, 'second')}</dd>
            </>
          ) : null}
        </dl>
      </section>
      <section className="panel" aria-labelledby="roles-title">
        <h2 id="roles-title">Roles</h2>
        {pending ? (
          <div className="notice" role="status" data-testid="pending-roles">
            Waiting for a second person:{' '}
            {pending.roles.map((r) => (
              <span className="badge" key={r}>
                {ROLE_NAMES[r] ?? r}
              </span>
            ))}{' '}
            asked by {pending.mine ? 'you' : pending.requesterName} on{' '}
            {utc(pending.requestedAt, 'second')}.{' '}
            <Link to="/admin/staff/requests">Role requests</Link>
            {pending.mine ? (
              <Form method="post" action="/admin/staff/requests" className="inline">
                <input type="hidden" name="request" value={pending.id} />
                <input type="hidden" name="intent" value="withdraw" />
                <button type="submit" className="secondary">
                  Withdraw
                </button>
              </Form>
            ) : null}
          </div>
        ) : null}
        {isSelf ? (
          <p className="muted">Nobody can change their own roles; another admin must.</p>
        ) : null}
        <Form method="post" className="stack">
          <input type="hidden" name="intent" value="roles" />
          <fieldset disabled={isSelf}>
            <legend>Roles held</legend>
            {ROLES.map((r) => (
              <label key={r}>
                <input
                  type="checkbox"
                  name="roles"
                  value={r}
                  defaultChecked={person.roles.includes(r)}
                />{' '}
                {ROLE_NAMES[r]}
              </label>
            ))}
          </fieldset>
          {errors.roles ? (
            <p className="field-error" role="alert">
              {errors.roles}
            </p>
          ) : null}
          <button type="submit" disabled={isSelf}>
            Save roles
          </button>
        </Form>
      </section>
      <section className="panel" aria-labelledby="factor-title">
        <h2 id="factor-title">Second factor</h2>
        <p>
          {person.hasSecondFactor ? 'A second factor is enrolled.' : 'No second factor yet.'} Roles
          beyond finding users and asking for grants always need one.
          {person.secondFactorRequired ? ' An admin requires one for this account too.' : ''}
        </p>
        <Form method="post">
          <input type="hidden" name="intent" value="second-factor" />
          <input type="hidden" name="required" value={person.secondFactorRequired ? 'off' : 'on'} />
          <button type="submit" className="secondary">
            {person.secondFactorRequired
              ? 'Stop requiring a second factor for this account'
              : 'Require a second factor for this account'}
          </button>
        </Form>
        {errors.required ? (
          <p className="field-error" role="alert">
            {errors.required}
          </p>
        ) : null}
        <h3>Reset the second factors</h3>
        {isSelf ? (
          <p className="muted">Nobody resets their own second factors; another admin must.</p>
        ) : (
          <p>
            For a lost or stolen device: removes every passkey, authenticator app and recovery code
            of this account and ends its sessions. Asks for your own second factor again.
          </p>
        )}
        <Form method="post" className="stack">
          <input type="hidden" name="intent" value="reset-factors" />
          <SelectField
            label="Why"
            name="reason"
            options={FACTOR_RESET_REASONS.map((r) => [r, FACTOR_RESET_REASON_NAMES[r]] as const)}
            defaultValue="lost_device"
          />
          {errors.reason ? (
            <p className="field-error" role="alert">
              {errors.reason}
            </p>
          ) : null}
          {errors.factors ? (
            <p className="field-error" role="alert">
              {errors.factors}
            </p>
          ) : null}
          <button type="submit" className="danger" disabled={isSelf || !person.hasSecondFactor}>
            Remove all second factors and end sessions
          </button>
        </Form>
      </section>
      <section className="panel" aria-labelledby="status-title">
        <h2 id="status-title">Account</h2>
        <Form method="post">
          {person.status === 'active' ? (
            <>
              <input type="hidden" name="intent" value="disable" />
              <button type="submit" className="danger" disabled={isSelf}>
                Disable account and end its sessions
              </button>
            </>
          ) : (
            <>
              <input type="hidden" name="intent" value="enable" />
              <button type="submit">Enable account</button>
            </>
          )}
          {errors.status ? (
            <p className="field-error" role="alert">
              {errors.status}
            </p>
          ) : null}
        </Form>
      </section>
      <section className="panel" aria-labelledby="activity-title">
        <h2 id="activity-title">Recent sign-ins</h2>
        {signIns.length === 0 ? (
          <p className="empty">No sign-in recorded.</p>
        ) : (
          <ul>
            {signIns.map((s) => (
              <li key={`${s.occurredAt}-${s.action}-${s.outcome}`}>
                {utc(s.occurredAt, 'second')} —{' '}
                {s.action === 'auth.lock' ? 'locked' : `sign-in ${s.outcome}`}
                {s.clientAddress ? ` from ${s.clientAddress}` : ''}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
