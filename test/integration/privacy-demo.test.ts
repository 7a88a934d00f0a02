import { auditKeys } from '#app/modules/audit/runs.server.ts';
import { verifierKeyFor } from '#app/modules/audit/note.ts';
import { ensureDemoPrivacyRequests } from '#app/modules/privacy/demo.server.ts';
import { downloadCertificate, verifyCertificate } from '#app/modules/privacy/erasure.server.ts';
import { activeHold, LegalHoldError } from '#app/modules/privacy/holds.server.ts';
import { messagesOfRequest } from '#app/modules/privacy/outbox.server.ts';
import { packageOfRequest } from '#app/modules/privacy/package.server.ts';
import { isErased } from '#app/modules/privacy/tombstones.server.ts';
import {
  getRequest,
  listRequests,
  moveRequest,
  purposeGrants,
} from '#app/modules/privacy/requests.server.ts';
import { appendDemoUser } from '#app/modules/seed/demo-user.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { userFacts } from '#app/modules/users/data.server.ts';
import { ownerUrl, testKeyRing, useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles } from '../support/http.ts';
import { seedUsers } from './users-fixtures.ts';

// The demo's privacy requests: made once through the real paths, so the queue shows every kind of
// row on the first start, and every part is seen working: a legal hold blocking an erasure, a
// review grant asked, an export package ready, a user erased with a certificate, the outbox.

useTestDatabase();

test('seeds requests across types, states and regimes once, and every part working', async () => {
  await seedUsers();
  const makeUser = () => appendDemoUser(ownerUrl(), testKeyRing);
  expect(await ensureDemoPrivacyRequests({ makeUser })).toBe(0);
  const officer = await createStaffWithRoles(['privacy_officer'], {
    email: 'privacy@custodian.test',
  });
  const second = await createStaffWithRoles(['privacy_officer'], {
    email: 'privacy2@custodian.test',
  });
  expect(await ensureDemoPrivacyRequests({ makeUser })).toBe(14);
  expect(await ensureDemoPrivacyRequests({ makeUser })).toBe(0);
  const me = await staffActor(officer.id);
  const two = await staffActor(second.id);
  const { rows } = await listRequests({ state: 'all' }, me);
  expect(rows).toHaveLength(14);
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
      'completed',
    ]),
  );
  expect(new Set(rows.map((r) => r.regime))).toEqual(new Set(['gdpr', 'ccpa', 'service']));
  const open = (await listRequests({}, me)).rows;
  expect(open.some((r) => r.overdue)).toBe(true);
  expect(open.some((r) => r.dueSoon)).toBe(true);

  // One erased user, a demo user made for it (none of the seeded 30), through the real erasure:
  // gone, with a certificate that verifies with the log's key.
  const erasures = rows.filter((r) => r.type === 'erasure');
  const erased = erasures.filter((r) => r.state === 'completed');
  expect(erased).toHaveLength(1);
  const gone = erased[0]!;
  expect(await isErased(gone.userId)).toBe(true);
  expect(await userFacts(gone.userId)).toBeNull();
  const { note } = await downloadCertificate(gone.id, me);
  const certificate = verifyCertificate(note, [verifierKeyFor(auditKeys().signer)]);
  expect(certificate.userId).toBe(gone.userId);
  expect(certificate.key.destroyed).toBe(true);
  expect(certificate.tables.find((t) => t.table === 'product.messages')?.rowsRemoved).toBe(10);
  const { rows: all } = await listRequests({ state: 'all' }, me, 100);
  expect(all.filter((r) => r.userId === gone.userId)).toHaveLength(1);

  // An active legal hold on one user, and their erasure request blocked by it: once resumed,
  // proposed and approved, it still cannot start.
  const held = erasures.filter((r) => r.state === 'on_hold');
  expect(held).toHaveLength(1);
  expect((await activeHold(held[0]!.userId))?.reason).toContain('L-2026-17');
  await moveRequest(held[0]!.id, { kind: 'resume' }, me);
  await moveRequest(held[0]!.id, { kind: 'propose', proposal: 'erasure', note: 'try' }, me);
  await moveRequest(held[0]!.id, { kind: 'approve' }, two);
  await expect(moveRequest(held[0]!.id, { kind: 'start' }, me)).rejects.toThrow(LegalHoldError);

  // A completed access request whose package the real package code built: ready.
  const access = rows.filter((r) => r.type === 'access' && r.state === 'completed');
  expect(access).toHaveLength(1);
  const pkg = await packageOfRequest(access[0]!.id);
  expect(pkg?.state).toBe('ready');
  expect((await getRequest(access[0]!.id)).request.progressDone).toBeGreaterThan(0);

  // A rectification with its review grant asked, waiting for the second officer.
  const rectification = rows.find((r) => r.type === 'rectification')!;
  const grants = await purposeGrants(rectification.id);
  expect(grants.map((g) => [g.status, g.requesterId])).toEqual([['pending', officer.id]]);

  // The outbox shows the demo's messages: acknowledgements, a confirmation request, a denial, the
  // completion of the export (the erased user's messages went with them).
  const messages = (await Promise.all(rows.map((r) => messagesOfRequest(r.id)))).flat();
  expect(new Set(messages.map((m) => m.template))).toEqual(
    new Set(['acknowledgement', 'confirm_request', 'denial', 'completion']),
  );
  expect(await messagesOfRequest(gone.id)).toEqual([]);
});
