import { ensureDemoPrivacyRequests } from '#app/modules/privacy/demo.server.ts';
import { messagesOfRequest } from '#app/modules/privacy/outbox.server.ts';
import { listRequests } from '#app/modules/privacy/requests.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles } from '../support/http.ts';
import { seedUsers } from './users-fixtures.ts';

// The demo's privacy requests: made once through the real paths, so the queue shows every kind of
// row on the first start.

useTestDatabase();

test('seeds requests across types, states and regimes once, some overdue and some due soon', async () => {
  await seedUsers();
  expect(await ensureDemoPrivacyRequests()).toBe(0);
  const officer = await createStaffWithRoles(['privacy_officer'], {
    email: 'privacy@custodian.test',
  });
  await createStaffWithRoles(['privacy_officer'], { email: 'privacy2@custodian.test' });
  expect(await ensureDemoPrivacyRequests()).toBe(12);
  expect(await ensureDemoPrivacyRequests()).toBe(0);
  const me = await staffActor(officer.id);
  const { rows } = await listRequests({ state: 'all' }, me);
  expect(rows).toHaveLength(12);
  expect(new Set(rows.map((r) => r.type)).size).toBe(6);
  expect(new Set(rows.map((r) => r.state))).toEqual(
    new Set([
      'received',
      'verifying',
      'awaiting_approval',
      'approved',
      'processing',
      'on_hold',
      'denied',
      'canceled',
    ]),
  );
  expect(new Set(rows.map((r) => r.regime))).toEqual(new Set(['gdpr', 'ccpa', 'service']));
  const open = (await listRequests({}, me)).rows;
  expect(open.some((r) => r.overdue)).toBe(true);
  expect(open.some((r) => r.dueSoon)).toBe(true);
  // The outbox shows the demo's messages: acknowledgements, a confirmation request, a denial.
  const messages = (await Promise.all(rows.map((r) => messagesOfRequest(r.id)))).flat();
  expect(new Set(messages.map((m) => m.template))).toEqual(
    new Set(['acknowledgement', 'confirm_request', 'denial']),
  );
});
