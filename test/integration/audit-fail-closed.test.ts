import postgres from 'postgres';
import { readAudit } from '../support/audit.ts';
import { ownerUrl, useTestDatabase } from '../support/db.ts';
import {
  createStaffWithRoles,
  fetchAs,
  postForm,
  sessionCookieOf,
  signInAs,
  startTestServer,
  type TestServer,
} from '../support/http.ts';

// Law 3: audit, then show. When the audit entry cannot be written, the request fails and
// nothing it would have done or shown happens.

const { sql } = useTestDatabase();
let server: TestServer;
let owner: postgres.Sql;

beforeAll(async () => {
  server = await startTestServer();
  owner = postgres(ownerUrl(), { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await owner.end();
  await server.close();
});

async function breakAuditWrites<T>(fn: () => Promise<T>): Promise<T> {
  await owner`revoke insert on console.audit_intake from custodian_app`;
  try {
    return await fn();
  } finally {
    await owner`grant insert on console.audit_intake to custodian_app`;
  }
}

describe('when the audit trail cannot be written', () => {
  it('a sign-in fails with an error page, opens no session and leaves no trace of success', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const [before] = await sql()<{ n: number }[]>`select count(*)::int as n from console.sessions`;
    const response = await breakAuditWrites(() =>
      postForm(null, `${server.baseUrl}/login`, { email: who.email, password: who.password }),
    );
    expect(response.status).toBe(500);
    expect(sessionCookieOf(response)).toBeUndefined();
    const body = await response.text();
    expect(body).toContain('Something went wrong');
    expect(body).not.toMatch(/at \w+ \(|permission denied/);
    const [after] = await sql()<{ n: number }[]>`select count(*)::int as n from console.sessions`;
    expect(after!.n).toBe(before!.n);
    // With the trail back, the same sign-in works and is recorded.
    await signInAs(server.baseUrl, who.email, who.password);
    const entries = await readAudit();
    expect(
      entries.filter(
        (e) =>
          e.action === 'auth.sign_in' && e.outcome === 'allowed' && e.subjectStaffId === who.id,
      ),
    ).toHaveLength(1);
  });

  it('a sign-out fails and the session stays, rather than ending unrecorded', async () => {
    const who = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, who.email, who.password);
    const response = await breakAuditWrites(() => postForm(cookie, `${server.baseUrl}/logout`));
    expect(response.status).toBe(500);
    expect((await fetchAs(cookie, `${server.baseUrl}/`)).status).toBe(200);
  });

  it('a staff change is not applied', async () => {
    const admin = await createStaffWithRoles(['admin']);
    const target = await createStaffWithRoles(['support_agent']);
    const cookie = await signInAs(server.baseUrl, admin.email, admin.password);
    const response = await breakAuditWrites(() =>
      postForm(cookie, `${server.baseUrl}/admin/staff/${target.id}`, {
        intent: 'roles',
        roles: ['admin'],
      }),
    );
    expect(response.status).toBe(500);
    const roles = await sql()<
      { role_code: string }[]
    >`select role_code from console.staff_roles where staff_id = ${target.id}`;
    expect(roles.map((r) => r.role_code)).toEqual(['support_agent']);
  });
});
