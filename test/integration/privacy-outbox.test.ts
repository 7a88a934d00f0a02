import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type postgres from 'postgres';
import { SMTPServer } from 'smtp-server';
import { resetEnvForTests } from '#app/config.server.ts';
import { getDb } from '#app/db/client.server.ts';
import { job } from '#app/modules/actor.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { setClock } from '#app/modules/clock.server.ts';
import {
  backoffMinutes,
  MAX_ATTEMPTS,
  messagesOfRequest,
  privacyOutboxJob,
  queueUserMessage,
  sendQueuedMessages,
} from '#app/modules/privacy/outbox.server.ts';
import {
  createRequest,
  extendRequest,
  getRequest,
  moveRequest,
} from '#app/modules/privacy/requests.server.ts';
import { readAudit, type LoggedEntry } from '../support/audit.ts';
import { useTestDatabase } from '../support/db.ts';
import { createStaffWithRoles, type TestStaff } from '../support/http.ts';
import { ownerConnection, plainUsers, seedUsers, type PlainUser } from './users-fixtures.ts';

// The end-user outbox (ADR 024): messages rendered in the transaction of the change they announce,
// sealed under the user's key, sent through a real SMTP server on loopback, retried with backoff
// when the server refuses, each attempt audited without the address or the text; nothing leaves
// without CUSTODIAN_SMTP_URL.

useTestDatabase();
let owner: postgres.Sql;
let users: PlainUser[];
let officer: TestStaff;
let officer2: TestStaff;
let restoreClock: () => void;
let clockAt = Date.parse('2026-03-02T09:00:00Z');
const PRODUCT = job('api: product');

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives, or refuses every recipient. */
async function smtpServer(options: { refuse?: number } = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (!options.refuse) return callback();
      const error = new Error(`${address.address}: Recipient address rejected`) as Error & {
        responseCode: number;
      };
      error.responseCode = options.refuse;
      callback(error);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The text of a received message: its quoted-printable soft breaks and escapes undone. */
function textOf(raw: string) {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

async function outboxRows(requestId: string) {
  return owner<
    {
      id: string;
      template: string;
      state: string;
      attempts: number;
      next_attempt_at: Date;
      sent_at: Date | null;
      last_error: string | null;
      content_enc: Buffer;
    }[]
  >`select id, template, state, attempts, next_attempt_at, sent_at, last_error, content_enc
    from console.user_outbox where request_id = ${requestId} order by created_at, id`;
}

async function entriesOf(requestId: string, action = 'privacy.message') {
  return (await readAudit()).filter(
    (e: LoggedEntry & { privacyRequestId?: string }) =>
      e.action === action && e.privacyRequestId === requestId,
  );
}

const as = (s: TestStaff) => staffActor(s.id);

beforeAll(async () => {
  restoreClock = setClock({ now: () => new Date(clockAt) });
  await seedUsers();
  owner = ownerConnection();
  users = await plainUsers(owner);
  officer = await createStaffWithRoles(['privacy_officer']);
  officer2 = await createStaffWithRoles(['privacy_officer']);
});

afterAll(async () => {
  restoreClock();
  await owner.end();
});

beforeEach(async () => {
  // Each test sends only its own messages.
  await owner`update console.user_outbox set state = 'failed', last_error = 'test_reset'
              where state = 'queued'`;
});

describe('queueing', () => {
  test('a request from the product is acknowledged; one entered by staff asks to confirm', async () => {
    const api = await createRequest({ userId: users[0]!.id, type: 'access' }, PRODUCT);
    const staff = await createRequest(
      { userId: users[1]!.id, type: 'erasure', channel: 'letter' },
      await as(officer),
    );
    expect((await outboxRows(api.id)).map((r) => [r.template, r.state])).toEqual([
      ['acknowledgement', 'queued'],
    ]);
    expect((await outboxRows(staff.id)).map((r) => [r.template, r.state])).toEqual([
      ['confirm_request', 'queued'],
    ]);
    const { events } = await getRequest(staff.id);
    expect(events.map((e) => [e.kind, e.note])).toContainEqual([
      'message',
      'Request to sign in and confirm queued',
    ]);
  });

  test('the message is sealed under the user’s key: the row holds neither address nor text', async () => {
    const user = users[2]!;
    const link = `https://custodian.test/packages/${randomBytes(24).toString('base64url')}`;
    const { id } = await createRequest({ userId: user.id, type: 'portability' }, PRODUCT);
    await getDb().transaction((tx) =>
      queueUserMessage(tx, {
        userId: user.id,
        requestId: id,
        template: 'completion',
        vars: { link },
      }),
    );
    const rows = await outboxRows(id);
    expect(rows.map((r) => r.template).sort()).toEqual(['acknowledgement', 'completion']);
    for (const row of rows) {
      const raw = row.content_enc.toString('latin1');
      expect(raw).not.toContain(user.email);
      expect(raw).not.toContain(link);
      expect(raw).not.toContain('privacy request');
    }
    // Copied onto another message's row, the ciphertext does not open (bound to its row).
    await owner`update console.user_outbox set content_enc = ${rows[1]!.content_enc}
                where id = ${rows[0]!.id}`;
    const server = await smtpServer();
    try {
      const result = await sendQueuedMessages({ smtpUrl: server.url });
      expect(result).toMatchObject({ sent: 1, failed: 1, retried: 0 });
      expect(server.received).toHaveLength(1);
    } finally {
      await server.close();
    }
    expect((await outboxRows(id)).find((r) => r.id === rows[0]!.id)).toMatchObject({
      state: 'failed',
      last_error: 'undecryptable',
    });
    // Nothing staff read holds the link: the timeline, the page's list, the trail.
    const { events } = await getRequest(id);
    expect(JSON.stringify(events)).not.toContain(link);
    expect(JSON.stringify(await messagesOfRequest(id))).not.toContain(link);
    expect(JSON.stringify(await readAudit())).not.toContain(link);
  });

  test('an approved denial tells the user the reasons and where to complain; an extension why', async () => {
    const me = await as(officer);
    const other = await as(officer2);
    const gdpr = users[3]!;
    await owner`update product.users set country = 'FR' where id = ${gdpr.id}`;
    const denied = await createRequest({ userId: gdpr.id, type: 'access' }, PRODUCT);
    await moveRequest(
      denied.id,
      {
        kind: 'propose',
        proposal: 'denial',
        note: 'Manifestly unfounded: the same request weekly',
      },
      me,
    );
    expect((await outboxRows(denied.id)).map((r) => r.template)).toEqual(['acknowledgement']);
    await moveRequest(denied.id, { kind: 'approve' }, other);
    const us = users[4]!;
    await owner`update product.users set country = 'US' where id = ${us.id}`;
    const extended = await createRequest({ userId: us.id, type: 'access' }, PRODUCT);
    await extendRequest(extended.id, 'The archive holding your history is being restored', me);
    // Both may share an instant (the clock is the test's), so their order is not asked.
    expect((await outboxRows(denied.id)).map((r) => r.template).sort()).toEqual([
      'acknowledgement',
      'denial',
    ]);
    const server = await smtpServer();
    try {
      await sendQueuedMessages({ smtpUrl: server.url });
    } finally {
      await server.close();
    }
    const to = (email: string) =>
      server.received.filter((m) => m.to.includes(email)).map((m) => textOf(m.raw));
    const denial = to(gdpr.email).find((t) => t.includes('We cannot carry out'))!;
    expect(denial).toContain('Manifestly unfounded: the same request weekly');
    expect(denial).toContain('data protection supervisory authority');
    const notice = to(us.email).find((t) => t.includes('needs more time'))!;
    expect(notice).toContain('The archive holding your history is being restored');
    expect(notice).toContain('California Privacy Protection Agency');
    expect(notice).toContain((await getRequest(extended.id)).request.dueDay);
  });
});

describe('sending', () => {
  test('a real SMTP server receives the confirmation request and a completion notice with its link', async () => {
    const user = users[5]!;
    const link = `https://custodian.test/packages/${randomBytes(24).toString('base64url')}`;
    const { id } = await createRequest(
      { userId: user.id, type: 'access', channel: 'email' },
      await as(officer),
    );
    await getDb().transaction((tx) =>
      queueUserMessage(tx, {
        userId: user.id,
        requestId: id,
        template: 'completion',
        vars: { link },
      }),
    );
    const server = await smtpServer();
    try {
      expect(
        await sendQueuedMessages({ smtpUrl: server.url, from: 'Privacy <p@custodian.test>' }),
      ).toMatchObject({ configured: true, sent: 2, retried: 0, failed: 0 });
    } finally {
      await server.close();
    }
    expect(server.received.map((m) => m.to)).toEqual([[user.email], [user.email]]);
    expect(server.received[0]!.from).toBe('p@custodian.test');
    const texts = server.received.map((m) => textOf(m.raw));
    const confirm = texts.find((t) => t.includes('Please confirm'))!;
    const completion = texts.find((t) => t.includes('is complete'))!;
    expect(confirm).toContain('Subject: Please confirm your privacy request');
    expect(confirm).toContain('sign in to the app');
    expect(confirm).toContain(id.slice(0, 8));
    expect(completion).toContain('Subject: Your privacy request is complete');
    expect(completion).toContain(link);
    // Sent: recorded on the row, the request (acknowledged), the timeline and the trail.
    const rows = await outboxRows(id);
    expect(rows.map((r) => [r.state, r.attempts, r.last_error])).toEqual([
      ['sent', 1, null],
      ['sent', 1, null],
    ]);
    const { request, events } = await getRequest(id);
    expect(request.acknowledgedAt?.getTime()).toBe(clockAt);
    const notes = events.filter((e) => e.kind === 'message').map((e) => e.note);
    expect(notes.slice(0, 2)).toEqual([
      'Request to sign in and confirm queued',
      'Completion notice queued',
    ]);
    expect(notes.slice(2).sort()).toEqual([
      'Completion notice sent',
      'Request to sign in and confirm sent',
    ]);
    const entries = await entriesOf(id);
    // Sorted by their text: the two may be sent in either order.
    const byText = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    expect(entries.map((e) => [e.outcome, e.details]).sort(byText)).toEqual([
      ['allowed', { template: 'completion', result: 'sent', attempt: 1 }],
      ['allowed', { template: 'confirm_request', result: 'sent', attempt: 1 }],
    ]);
    expect(JSON.stringify(entries)).not.toContain(user.email);
    // Sent once: a second run finds nothing.
    const again = await smtpServer();
    try {
      expect(await sendQueuedMessages({ smtpUrl: again.url })).toMatchObject({ sent: 0 });
      expect(again.received).toHaveLength(0);
    } finally {
      await again.close();
    }
  });

  test('a refusing server: retried with backoff, each attempt audited, given up at the last', async () => {
    const user = users[6]!;
    const { id } = await createRequest({ userId: user.id, type: 'access' }, PRODUCT);
    const refusing = await smtpServer({ refuse: 451 });
    try {
      expect(await sendQueuedMessages({ smtpUrl: refusing.url })).toMatchObject({
        sent: 0,
        retried: 1,
      });
      let [row] = await outboxRows(id);
      expect(row).toMatchObject({ state: 'queued', attempts: 1, last_error: 'eenvelope:451' });
      expect(row!.next_attempt_at.getTime()).toBe(clockAt + backoffMinutes(1) * 60_000);
      // Not before its time.
      expect(await sendQueuedMessages({ smtpUrl: refusing.url })).toMatchObject({ retried: 0 });
      clockAt += 60_000;
      await sendQueuedMessages({ smtpUrl: refusing.url });
      [row] = await outboxRows(id);
      expect(row).toMatchObject({ state: 'queued', attempts: 2 });
      expect(row!.next_attempt_at.getTime()).toBe(clockAt + 2 * 60_000);
      expect(backoffMinutes(3)).toBe(4);
      expect(backoffMinutes(20)).toBe(360);
      // The last attempt fails: given up, on the timeline and in the trail.
      await owner`update console.user_outbox set attempts = ${MAX_ATTEMPTS - 1}
                  where id = ${row!.id}`;
      clockAt += 2 * 60_000;
      expect(await sendQueuedMessages({ smtpUrl: refusing.url })).toMatchObject({ failed: 1 });
      [row] = await outboxRows(id);
      expect(row).toMatchObject({ state: 'failed', attempts: MAX_ATTEMPTS });
    } finally {
      await refusing.close();
    }
    const entries = await entriesOf(id);
    expect(entries.map((e) => [e.outcome, e.details.result, e.details.attempt])).toEqual([
      ['failed', 'retry', 1],
      ['failed', 'retry', 2],
      ['failed', 'failed', MAX_ATTEMPTS],
    ]);
    expect(JSON.stringify(entries)).not.toContain(user.email);
    const { events } = await getRequest(id);
    expect(events.at(-1)?.note).toBe(
      `Acknowledgement not sent (eenvelope:451, ${MAX_ATTEMPTS} attempt(s))`,
    );
    expect(JSON.stringify(events)).not.toContain(user.email);
  });

  test('a user whose key is gone gets nothing: the message fails as erased', async () => {
    const user = users[7]!;
    const { id } = await createRequest({ userId: user.id, type: 'access' }, PRODUCT);
    await owner`delete from product.user_keys where user_id = ${user.id}`;
    const server = await smtpServer();
    try {
      expect(await sendQueuedMessages({ smtpUrl: server.url })).toMatchObject({ failed: 1 });
      expect(server.received).toHaveLength(0);
    } finally {
      await server.close();
    }
    expect((await outboxRows(id)).map((r) => [r.state, r.last_error])).toEqual([
      ['failed', 'user_erased'],
    ]);
  });

  test('without CUSTODIAN_SMTP_URL nothing is sent and messages stay queued', async () => {
    const saved = process.env.CUSTODIAN_SMTP_URL;
    delete process.env.CUSTODIAN_SMTP_URL;
    resetEnvForTests();
    try {
      const { id } = await createRequest({ userId: users[8]!.id, type: 'access' }, PRODUCT);
      expect(await sendQueuedMessages()).toEqual({
        configured: false,
        sent: 0,
        retried: 0,
        failed: 0,
      });
      expect(await privacyOutboxJob.run({})).toMatchObject({ configured: false });
      expect((await outboxRows(id)).map((r) => [r.state, r.attempts])).toEqual([['queued', 0]]);
      expect(await entriesOf(id)).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.CUSTODIAN_SMTP_URL = saved;
      resetEnvForTests();
    }
  });
});
