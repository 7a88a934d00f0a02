import { useTestDatabase } from '../support/db.ts';
import { DEFAULT_ROLE_PERMISSIONS, ROLES } from '#app/modules/auth/permissions.ts';

const { sql } = useTestDatabase();

describe('migrations', () => {
  it('store the default role → permission mapping of DESIGN.md', async () => {
    const rows = await sql()<{ role_code: string; permission_code: string }[]>`
      select role_code, permission_code from console.role_permissions`;
    for (const role of ROLES) {
      const held = rows
        .filter((r) => r.role_code === role)
        .map((r) => r.permission_code)
        .sort();
      expect(held).toEqual([...DEFAULT_ROLE_PERMISSIONS[role]].sort());
    }
  });
});
