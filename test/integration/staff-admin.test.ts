import { randomUUID } from 'node:crypto';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { commandLine } from '#app/modules/actor.ts';
import { setStaffRoles } from '#app/modules/auth/staff.server.ts';
import { actorRoleMismatches } from '../support/actor-roles.ts';
import { readAudit } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import {
  actorOf,
  createStaffWithRoles,
  decodeEntities,
  fetchAs,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
  type TestStaff,
} from '../support/http.ts';

const { sql } = useTestDatabase();

let server: TestServer;
let admin: TestStaff;
let adminCookie: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await createStaffWithRoles(['admin']);
  adminCookie = await signInAs(server.baseUrl, admin.email, admin.password);
});

afterAll(async () => {
  await server?.close();
});

const asAdmin = {
  get: (path: string) => fetchAs(adminCookie, path),
  post: (path: string, fields: Record<string, string | string[]>) =>
    postForm(adminCookie, path, fields),
};

async function rolesOf(staffId: string) {
  const rows = await sql()<{ role_code: string }[]>`
    select role_code from console.staff_roles where staff_id = ${staffId} order by role_code`;
  return rows.map((r) => r.role_code);
}

async function staffCount() {
  const [row] = await sql()<{ n: number }[]>`select count(*)::int as n from console.staff`;
  return row!.n;
}

async function eventCount(action: string) {
  return (await readAudit()).filter((e) => e.action === action).length;
}

/** The error message shown under a form field (Field renders `field-<name>-error`). */
function fieldError(html: string, field: string) {
  const match = new RegExp(`id="field-${field}-error"[^>]*>([^<]*)<`).exec(html);
  return match ? decodeEntities(match[1]!) : undefined;
}

/** The alert of a non-Field form error (the roles fieldset, the status form). */
function alerts(html: string) {
  return [...html.matchAll(/class="field-error"[^>]*role="alert"[^>]*>([^<]*)</g)].map((m) =>
    decodeEntities(m[1]!),
  );
}

const goodNewStaff = (overrides: Record<string, string | string[]> = {}) => ({
  email: `new-${randomUUID().slice(0, 8)}@staff.test`,
  displayName: 'New Person',
  password: 'temporary-password-123',
  roles: ['support_agent'],
  ...overrides,
});

describe('creating staff (POST /admin/staff/new)', () => {
  it.each([
    ['email', { email: 'not-an-email' }, 'Enter a valid email'],
    ['email', { email: '' }, 'Enter a valid email'],
    ['displayName', { displayName: '   ' }, 'Enter a name'],
    ['password', { password: 'short' }, 'Temporary password must be at least 12 characters'],
  ])('bad %s: 400 naming the field, nothing written', async (field, overrides, message) => {
    const [count, events] = [await staffCount(), await eventCount('staff.create')];
    const response = await asAdmin.post('/admin/staff/new', goodNewStaff(overrides));
    expect(response.status).toBe(400);
    expect(fieldError(await response.text(), field)).toBe(message);
    expect(await staffCount()).toBe(count);
    expect(await eventCount('staff.create')).toBe(events);
  });

  it('an unknown role: 400 naming the roles, nothing written', async () => {
    const count = await staffCount();
    const response = await asAdmin.post(
      '/admin/staff/new',
      goodNewStaff({ roles: ['support_agent', 'superuser'] }),
    );
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toMatch(/id="roles-error"[^>]*>Unknown role</);
    expect(await staffCount()).toBe(count);
  });

  it('a duplicate email, in any case: 400 naming the email, nothing written', async () => {
    const count = await staffCount();
    const response = await asAdmin.post(
      '/admin/staff/new',
      goodNewStaff({ email: admin.email.toUpperCase() }),
    );
    expect(response.status).toBe(400);
    expect(fieldError(await response.text(), 'email')).toBe(
      'A staff account with this email already exists',
    );
    expect(await staffCount()).toBe(count);
  });

  it('creates the account with its roles and a temporary password', async () => {
    const input = goodNewStaff({
      roles: ['support_agent', 'privacy_officer'],
      displayName: 'Ada Lovelace',
    });
    const response = await asAdmin.post('/admin/staff/new', input);
    expect(response.status).toBe(302);
    const location = response.headers.get('location') ?? '';
    const id = /^\/admin\/staff\/([0-9a-f-]{36})\?created=pending$/.exec(location)?.[1];
    expect(id).toBeDefined();
    const [row] = await sql()<
      { email: string; display_name: string; must_change_password: boolean; status: string }[]
    >`
      select email, display_name, must_change_password, status from console.staff where id = ${id!}`;
    expect(row).toEqual({
      email: input.email,
      display_name: 'Ada Lovelace',
      must_change_password: true,
      status: 'active',
    });
    // Both roles reach personal data: they wait for a second person (ADR 021,
    // test/integration/admin-reach.test.ts).
    expect(await rolesOf(id!)).toEqual([]);
    const event = (await readAudit()).find(
      (e) => e.action === 'staff.create' && e.subjectStaffId === id,
    );
    expect(event?.actor).toEqual({ staffId: admin.id, roles: ['admin'] });
    expect(event?.details).toEqual({ roles: [], pending: ['privacy_officer', 'support_agent'] });

    const page = await asAdmin.get(location);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Account created.');
    // The new member signs in with the temporary password and must change it first.
    const cookie = await signInAs(server.baseUrl, input.email, input.password);
    const home = await fetchAs(cookie, '/');
    expect(home.headers.get('location')).toBe('/account/password');
  });
});

describe('changing roles (POST /admin/staff/<id>, intent=roles)', () => {
  let target: TestStaff;
  beforeAll(async () => {
    // With a second factor from the start: the admin role given below needs one (ADR 035).
    target = await createStaffWithRoles(['support_agent'], { secondFactor: true });
  });

  it('saves the roles, records the change and applies at the holder’s next request', async () => {
    const cookie = await signInAs(server.baseUrl, target.email, target.password);
    expect((await fetchAs(cookie, '/admin/staff')).status).toBe(403);
    // Roles that reach personal data or decide access wait for a second person (ADR 021); the
    // command line gives them at once, as here, and removals apply at once.
    await setStaffRoles(target.id, ['support_lead', 'admin'], commandLine('test'));
    expect(await rolesOf(target.id)).toEqual(['admin', 'support_lead']);
    const event = (await readAudit()).find(
      (e) => e.action === 'staff.roles_change' && e.subjectStaffId === target.id,
    );
    expect({ actor: event?.actor, details: event?.details }).toEqual({
      actor: null,
      details: { before: ['support_agent'], after: ['admin', 'support_lead'] },
    });
    expect((await fetchAs(cookie, '/admin/staff')).status).toBe(200);

    const none = await asAdmin.post(`/admin/staff/${target.id}`, { intent: 'roles' });
    expect(none.status).toBe(200);
    expect(await none.text()).toContain('Roles saved.');
    expect(await rolesOf(target.id)).toEqual([]);
    const removal = (await readAudit()).findLast(
      (e) => e.action === 'staff.roles_change' && e.subjectStaffId === target.id,
    );
    expect({ actor: removal?.actor, details: removal?.details }).toEqual({
      actor: { staffId: admin.id, roles: ['admin'] },
      details: { before: ['admin', 'support_lead'], after: [] },
    });
    expect((await fetchAs(cookie, '/admin/staff')).status).toBe(403);
  });

  it('refuses an unknown role, leaving the roles as they were', async () => {
    await setStaffRoles(target.id, ['support_agent'], commandLine('test'));
    const response = await asAdmin.post(`/admin/staff/${target.id}`, {
      intent: 'roles',
      roles: ['support_lead', 'root'],
    });
    expect(response.status).toBe(400);
    expect(alerts(await response.text())).toContain('Unknown role');
    expect(await rolesOf(target.id)).toEqual(['support_agent']);
  });

  it('nobody can change their own roles', async () => {
    const response = await asAdmin.post(`/admin/staff/${admin.id}`, {
      intent: 'roles',
      roles: ['admin', 'security_auditor'],
    });
    expect(response.status).toBe(400);
    expect(alerts(await response.text())).toContain('Nobody can change their own roles');
    expect(await rolesOf(admin.id)).toEqual(['admin']);
    const page = await asAdmin.get(`/admin/staff/${admin.id}`);
    expect(await page.text()).toContain('Nobody can change their own roles; another admin must.');
  });

  it('an id that is not a staff id is a 404; an unknown intent a 400', async () => {
    expect((await asAdmin.get('/admin/staff/not-a-uuid')).status).toBe(404);
    expect((await asAdmin.get(`/admin/staff/${randomUUID()}`)).status).toBe(404);
    const response = await asAdmin.post(`/admin/staff/${target.id}`, { intent: 'promote' });
    expect(response.status).toBe(400);
  });
});

describe('disabling staff (intent=disable)', () => {
  it('disables the account and ends its sessions at once', async () => {
    const target = await createStaffWithRoles(['security_auditor']);
    const one = await signInAs(server.baseUrl, target.email, target.password);
    const two = await signInAs(server.baseUrl, target.email, target.password);
    expect((await fetchAs(one, '/')).status).toBe(200);

    const response = await asAdmin.post(`/admin/staff/${target.id}`, { intent: 'disable' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Account disabled; its sessions have ended.');
    const sessions = await sql()`select 1 from console.sessions where staff_id = ${target.id}`;
    expect(sessions).toHaveLength(0);
    for (const cookie of [one, two]) {
      const home = await fetchAs(cookie, '/');
      expect(home.status).toBe(302);
      expect(home.headers.get('location')).toBe('/login?redirectTo=%2F');
    }
    const again = await postForm(null, '/login', {
      email: target.email,
      password: target.password,
    });
    expect(again.status).toBe(401);
    expect(sessionCookieOf(again)).toBeUndefined();

    expect((await asAdmin.post(`/admin/staff/${target.id}`, { intent: 'enable' })).status).toBe(
      200,
    );
    await signInAs(server.baseUrl, target.email, target.password);
  });

  it('nobody can disable their own account', async () => {
    const response = await asAdmin.post(`/admin/staff/${admin.id}`, { intent: 'disable' });
    expect(response.status).toBe(400);
    expect(alerts(await response.text())).toContain('You cannot disable your own account');
    expect((await asAdmin.get('/')).status).toBe(200);
  });
});

describe('the staff list (/admin/staff)', () => {
  const HOSTILE = '<script>alert(1)</script>';
  const names: string[] = [];

  beforeAll(async () => {
    // 30 listed people with set names, emails and creation times, some with roles or disabled.
    await sql()`
      insert into console.staff (id, email, display_name, password_hash, created_at, status)
      select gen_random_uuid(),
             'lister-' || lpad((31 - i)::text, 2, '0') || '@staff.test',
             'Lister ' || lpad(i::text, 2, '0'),
             'not-a-hash',
             timestamptz '2030-01-01' + (((i * 7) % 30) || ' days')::interval,
             (case when i % 10 = 0 then 'disabled' else 'active' end)::console.staff_status
      from generate_series(1, 30) as i`;
    await sql()`
      insert into console.staff_roles (staff_id, role_code, granted_at)
      select id, 'privacy_officer', now() from console.staff
      where display_name in ('Lister 03', 'Lister 17', 'Lister 29')`;
    for (let i = 1; i <= 30; i++) names.push(`Lister ${String(i).padStart(2, '0')}`);
  });

  /** The people on a page, in order, and the next-page link. */
  async function listPage(search: string) {
    const response = await asAdmin.get(`/admin/staff${search}`);
    const html = await response.text();
    expect(response.status, `${search}: ${html.slice(0, 200)}`).toBe(200);
    const rows = [
      ...html.matchAll(
        /href="\/admin\/staff\/[0-9a-f-]{36}"[^>]*>(?:<bdi class="staff-name">)?([^<]*)</g,
      ),
    ].map((m) => decodeEntities(m[1]!));
    const next = /<a rel="next"[^>]*href="([^"]*)"/.exec(html)?.[1];
    return { rows, next: next && decodeEntities(next), html };
  }

  async function allPages(search: string) {
    const pages: string[][] = [];
    let page = await listPage(search);
    pages.push(page.rows);
    while (page.next) {
      expect(page.next).toMatch(/[?&]after=/);
      page = await listPage(page.next.replace('/admin/staff', ''));
      pages.push(page.rows);
    }
    return pages;
  }

  it('pages 25 at a time by name, with a next link', async () => {
    const pages = await allPages('?q=Lister');
    expect(pages.map((p) => p.length)).toEqual([25, 5]);
    expect(pages.flat()).toEqual(names);
  });

  it('sorts by name descending, by email and by creation time', async () => {
    expect((await allPages('?q=Lister&dir=desc')).flat()).toEqual([...names].reverse());
    // Emails run the other way round from names.
    expect((await allPages('?q=lister-&sort=email')).flat()).toEqual([...names].reverse());
    const byCreated = [...names].sort(
      (a, b) => ((Number(a.slice(-2)) * 7) % 30) - ((Number(b.slice(-2)) * 7) % 30),
    );
    expect((await allPages('?q=Lister&sort=created')).flat()).toEqual(byCreated);
    expect((await allPages('?q=Lister&sort=created&dir=desc')).flat()).toEqual(
      [...byCreated].reverse(),
    );
  });

  it('filters by role, status and text, escaping LIKE wildcards', async () => {
    expect((await listPage('?q=Lister&role=privacy_officer')).rows).toEqual([
      'Lister 03',
      'Lister 17',
      'Lister 29',
    ]);
    expect((await listPage('?q=Lister&status=disabled')).rows).toEqual([
      'Lister 10',
      'Lister 20',
      'Lister 30',
    ]);
    expect((await listPage('?q=Lister%201')).rows).toEqual(
      names.filter((n) => n.startsWith('Lister 1')),
    );
    expect((await listPage('?q=Lister%25')).rows).toEqual([]);
    expect((await listPage('?q=Lister_0')).rows).toEqual([]);
  });

  it.each([
    ['sort', '?sort=password_hash'],
    ['dir', '?dir=sideways'],
    ['role', '?role=superuser'],
    ['status', '?status=gone'],
  ])('a bad %s is a 400 naming it', async (name, search) => {
    const response = await asAdmin.get(`/admin/staff${search}`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(`Invalid ${name}`);
  });

  it('a tampered `after` cursor is a 400', async () => {
    const { next } = await listPage('?q=Lister&sort=created');
    const cursor = new URL(next!, server.baseUrl).searchParams.get('after')!;
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tampered = [
      'garbage',
      cursor.slice(0, -3),
      `${cursor}x!`,
      forged(['Lister 05']),
      forged(['Lister 05', 'not-a-uuid']),
      forged({ value: 'Lister 05', id: randomUUID() }),
      forged(['not a time', randomUUID()]),
    ];
    for (const after of tampered) {
      const response = await asAdmin.get(
        `/admin/staff?q=Lister&sort=created&after=${encodeURIComponent(after)}`,
      );
      expect(response.status, after).toBe(400);
      expect(await response.text()).toContain(
        'The page cursor in the address (after) is not valid.',
      );
    }
  });

  it('escapes a hostile display name everywhere it is shown', async () => {
    const created = await asAdmin.post(
      '/admin/staff/new',
      goodNewStaff({ displayName: HOSTILE, email: 'hostile@staff.test' }),
    );
    expect(created.status).toBe(302);
    const list = await listPage('?q=alert');
    expect(list.rows).toEqual([HOSTILE]);
    expect(list.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(list.html).not.toContain(HOSTILE);
    const detail = await asAdmin.get(created.headers.get('location')!);
    const html = await detail.text();
    expect(html).toContain(
      '<h1><bdi class="staff-name">&lt;script&gt;alert(1)&lt;/script&gt;</bdi></h1>',
    );
    expect(html).not.toContain(HOSTILE);
  });
});

describe('the actor of every entry', () => {
  it('carries the roles its staff member holds; an entry that says otherwise is caught', async () => {
    // The check behind every suite (test/support/actor-roles.ts) must be able to fail: an entry
    // naming the admin with no roles, as the staff pages once wrote, is reported.
    const actor = await actorOf(admin);
    await recordAudit(
      { ...actor, roles: [] },
      { action: 'staff.enable', outcome: 'allowed', subjectStaffId: admin.id, details: {} },
    );
    await recordAudit(actor, {
      action: 'staff.enable',
      outcome: 'allowed',
      subjectStaffId: admin.id,
      details: {},
    });
    expect(await actorRoleMismatches()).toEqual([
      { action: 'staff.enable', staff_id: admin.id, recorded: [], held: ['admin'] },
    ]);
    await sql()`delete from public.actor_role_mismatches`;
  });
});
