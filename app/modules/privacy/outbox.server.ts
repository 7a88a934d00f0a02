import { randomUUID } from 'node:crypto';
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { env } from '#app/config.server.ts';
import { getDb, type Tx } from '#app/db/client.server.ts';
import { privacyRequests, userOutbox } from '#app/db/schema.ts';
import { job, type Actor } from '#app/modules/actor.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { defineJob, enqueue } from '#app/modules/jobs/queue.server.ts';
import { DecryptionError } from '#app/modules/crypto/envelope.server.ts';
import { contactAddress, openForUser, sealForUserIn } from '#app/modules/users/data.server.ts';
import { GoneError } from '#app/utils/errors.ts';
import { renderMessage } from './messages.server.ts';
import { addEvent } from './requests.server.ts';
import {
  USER_MESSAGE_LABELS,
  USER_MESSAGES,
  type OutboxState,
  type Regime,
  type RequestMessage,
  type RequestType,
  type UserMessage,
} from './vocabulary.ts';

// The end-user outbox (ADR 024): messages to a user about their request, rendered from templates
// (messages.server.ts) in the transaction of the change they announce, stored sealed under the
// user's data key (so erasure, which destroys the key, removes them), and sent by SMTP
// (nodemailer) when CUSTODIAN_SMTP_URL is set, retried with backoff, each attempt audited. The
// address is read from the user's profile and decrypted by the sender alone, at sending time:
// staff, the timeline and the trail see the template and what became of it, never the text.

export { USER_MESSAGES, type UserMessage };

export const OUTBOX_JOB = 'privacy.outbox';
const CONTENT_FIELD = 'user_outbox.content';
/** Attempts before a message is given up as failed. */
export const MAX_ATTEMPTS = 10;
/** While a sender holds a message, others leave it alone; a crashed sender's lapses. */
const CLAIM_MINUTES = 5;
/** Messages one run of the job sends at most; the next run (or nudge) takes the rest. */
const RUN_LIMIT = 200;

/** Minutes before attempt `attempts + 1`: 1, 2, 4, … doubling, at most 6 hours. */
export function backoffMinutes(attempts: number): number {
  return Math.min(2 ** Math.max(attempts - 1, 0), 360);
}

const addMinutes = (at: Date, minutes: number) => new Date(at.getTime() + minutes * 60_000);

/**
 * Queues a message to the request's user in this transaction, so it exists exactly when the
 * change it announces does. `vars` fill the template (a completion's link, an extension's or a
 * denial's reason); the rest (reference, type, dates, the authority to complain to) comes from the
 * request as this transaction sees it. A user whose key is gone (erased) gets nothing, and the
 * timeline says so. Callers nudge the sender once they have committed (nudgeOutbox()); the
 * sender's job also runs every minute.
 */
export async function queueUserMessage(
  tx: Tx,
  message: {
    userId: string;
    requestId: string;
    template: RequestMessage;
    vars?: Record<string, string>;
  },
): Promise<void> {
  const at = now();
  const actor = job(OUTBOX_JOB);
  const [request] = await tx
    .select({
      type: privacyRequests.type,
      regime: privacyRequests.regime,
      receivedAt: privacyRequests.receivedAt,
      dueDay: privacyRequests.dueDay,
    })
    .from(privacyRequests)
    .where(eq(privacyRequests.id, message.requestId));
  if (!request) throw new Error(`no privacy request ${message.requestId} to write about`);
  const rendered = renderMessage(
    message.template,
    {
      id: message.requestId,
      type: request.type as RequestType,
      regime: request.regime as Regime,
      receivedDay: request.receivedAt.toISOString().slice(0, 10),
      dueDay: request.dueDay,
    },
    message.vars,
  );
  const id = randomUUID();
  const label = USER_MESSAGE_LABELS[message.template];
  let contentEnc: Buffer;
  try {
    contentEnc = await sealForUserIn(
      tx,
      message.userId,
      CONTENT_FIELD,
      id,
      JSON.stringify(rendered),
    );
  } catch (error) {
    if (!(error instanceof GoneError)) throw error;
    await addEvent(tx, actor, {
      requestId: message.requestId,
      at,
      kind: 'message',
      note: `${label} not queued: the user’s data is erased`,
    });
    return;
  }
  await tx.insert(userOutbox).values({
    id,
    userId: message.userId,
    requestId: message.requestId,
    template: message.template,
    contentEnc,
    state: 'queued',
    attempts: 0,
    nextAttemptAt: at,
    createdAt: at,
  });
  await addEvent(tx, actor, {
    requestId: message.requestId,
    at,
    kind: 'message',
    note: `${label} queued`,
  });
}

/**
 * Queues a staff reply on an inquiry's thread to its user, in the transaction that stores the
 * reply (ADR 034): sealed under the user's key like every message, sent to the address in their
 * profile. Returns the message's id, or null when the user's key is gone (erased).
 */
export async function queueInquiryReply(
  tx: Tx,
  message: { userId: string; inquiryId: string; subject: string; body: string },
): Promise<string | null> {
  const at = now();
  const id = randomUUID();
  const content = {
    subject: `Re: ${message.subject}`.slice(0, 250),
    body: `${message.body}\n\nThe support team`,
  };
  let contentEnc: Buffer;
  try {
    contentEnc = await sealForUserIn(
      tx,
      message.userId,
      CONTENT_FIELD,
      id,
      JSON.stringify(content),
    );
  } catch (error) {
    if (error instanceof GoneError) return null;
    throw error;
  }
  await tx.insert(userOutbox).values({
    id,
    userId: message.userId,
    requestId: null,
    inquiryId: message.inquiryId,
    template: 'inquiry_reply',
    contentEnc,
    state: 'queued',
    attempts: 0,
    nextAttemptAt: at,
    createdAt: at,
  });
  return id;
}

/** Where an inquiry's replies stand, oldest first: their state, never their text. */
export async function messagesOfInquiry(inquiryId: string): Promise<OutboxRow[]> {
  if (!z.uuid().safeParse(inquiryId).success) return [];
  const rows = await getDb()
    .select({
      id: userOutbox.id,
      template: userOutbox.template,
      state: userOutbox.state,
      attempts: userOutbox.attempts,
      createdAt: userOutbox.createdAt,
      nextAttemptAt: userOutbox.nextAttemptAt,
      sentAt: userOutbox.sentAt,
      lastError: userOutbox.lastError,
    })
    .from(userOutbox)
    .where(eq(userOutbox.inquiryId, inquiryId))
    .orderBy(asc(userOutbox.createdAt), asc(userOutbox.id));
  return rows.map((r) => ({
    ...r,
    template: r.template as UserMessage,
    state: r.state as OutboxState,
  }));
}

/** Whether messages can leave: a mail server is configured. */
export function mailConfigured(): boolean {
  return Boolean(env().CUSTODIAN_SMTP_URL);
}

/**
 * Asks the sender to run now, after a transaction that queued a message has committed. Only a
 * nudge: the sender's job runs every minute anyway, so a refused nudge loses nothing.
 */
export async function nudgeOutbox(): Promise<void> {
  if (!mailConfigured()) return;
  try {
    await enqueue(OUTBOX_JOB, {});
  } catch (error) {
    process.stderr.write(
      `privacy: could not nudge the outbox (its job runs every minute): ${(error as Error).message}\n`,
    );
  }
}

/**
 * Deletes every message to this user, in the erasure's transaction. Destroying the user's key
 * already makes them unreadable; this removes the rows too (ADR 024). The count, for the
 * erasure's certificate.
 */
export async function deleteMessagesOf(tx: Tx, userId: string): Promise<number> {
  const deleted = await tx
    .delete(userOutbox)
    .where(eq(userOutbox.userId, userId))
    .returning({ id: userOutbox.id });
  return deleted.length;
}

// --- reading (the request page) --------------------------------------------------------------

export interface OutboxRow {
  id: string;
  template: UserMessage;
  state: OutboxState;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date;
  sentAt: Date | null;
  lastError: string | null;
}

/** The request's messages, oldest first: what and where they stand, never their text. */
export async function messagesOfRequest(requestId: string): Promise<OutboxRow[]> {
  if (!z.uuid().safeParse(requestId).success) return [];
  const rows = await getDb()
    .select({
      id: userOutbox.id,
      template: userOutbox.template,
      state: userOutbox.state,
      attempts: userOutbox.attempts,
      createdAt: userOutbox.createdAt,
      nextAttemptAt: userOutbox.nextAttemptAt,
      sentAt: userOutbox.sentAt,
      lastError: userOutbox.lastError,
    })
    .from(userOutbox)
    .where(eq(userOutbox.requestId, requestId))
    .orderBy(asc(userOutbox.createdAt), asc(userOutbox.id));
  return rows.map((r) => ({
    ...r,
    template: r.template as UserMessage,
    state: r.state as OutboxState,
  }));
}

// --- sending ---------------------------------------------------------------------------------

interface Claimed {
  id: string;
  userId: string;
  /** The privacy request the message is about, or else the inquiry. */
  requestId: string | null;
  inquiryId: string | null;
  template: UserMessage;
  contentEnc: Buffer;
  attempts: number;
}

/** Takes the next due message for this sender, counting the attempt; null when none is due. */
async function claimNext(): Promise<Claimed | null> {
  return getDb().transaction(async (tx) => {
    const at = now();
    const [row] = await tx
      .select({
        id: userOutbox.id,
        userId: userOutbox.userId,
        requestId: userOutbox.requestId,
        inquiryId: userOutbox.inquiryId,
        template: userOutbox.template,
        contentEnc: userOutbox.contentEnc,
        attempts: userOutbox.attempts,
      })
      .from(userOutbox)
      .where(and(eq(userOutbox.state, 'queued'), lte(userOutbox.nextAttemptAt, at)))
      .orderBy(asc(userOutbox.nextAttemptAt), asc(userOutbox.id))
      .limit(1)
      .for('update', { skipLocked: true });
    if (!row) return null;
    const attempts = row.attempts + 1;
    await tx
      .update(userOutbox)
      .set({ attempts, nextAttemptAt: addMinutes(at, CLAIM_MINUTES) })
      .where(eq(userOutbox.id, row.id));
    return { ...row, template: row.template as UserMessage, attempts };
  });
}

/**
 * An error as a code fit for the trail and the outbox row: the transport's code and the server's
 * reply code (`eenvelope:550`), never the reply's text, which may quote the address.
 */
export function errorCode(error: unknown): string {
  const e = error as { code?: unknown; responseCode?: unknown };
  const parts = [
    typeof e.code === 'string' ? e.code : 'error',
    typeof e.responseCode === 'number' ? String(e.responseCode) : null,
  ].filter((p): p is string => p !== null);
  const code = parts
    .join(':')
    .toLowerCase()
    .replace(/[^a-z0-9_.:-]/g, '_')
    .slice(0, 64);
  return code || 'error';
}

class Undeliverable extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/**
 * Sends the due messages (at most RUN_LIMIT) through the configured mail server, one at a time:
 * each is claimed (its attempt counted) in one transaction, handed to the server, and its outcome
 * recorded with its audit entry in another. A sender that dies in between leaves a claim that
 * lapses after CLAIM_MINUTES; the message is then sent again (at least once, never lost).
 * Without CUSTODIAN_SMTP_URL nothing is sent and messages stay queued.
 */
export async function sendQueuedMessages(
  options: { smtpUrl?: string; from?: string; limit?: number } = {},
): Promise<{ configured: boolean; sent: number; retried: number; failed: number }> {
  const smtpUrl = options.smtpUrl ?? env().CUSTODIAN_SMTP_URL;
  const counts = { configured: Boolean(smtpUrl), sent: 0, retried: 0, failed: 0 };
  if (!smtpUrl) return counts;
  const from = options.from ?? env().CUSTODIAN_MAIL_FROM;
  const transport = nodemailer.createTransport(smtpUrl);
  try {
    for (let i = 0; i < (options.limit ?? RUN_LIMIT); i++) {
      const message = await claimNext();
      if (!message) break;
      try {
        const { subject, body } = JSON.parse(
          await openForUser(message.userId, CONTENT_FIELD, message.id, message.contentEnc),
        ) as { subject: string; body: string };
        const to = await contactAddress(message.userId);
        if (!to) throw new Undeliverable('no_user');
        await transport.sendMail({ from, to, subject, text: body });
      } catch (error) {
        // Only the mail server's refusals are worth another try.
        const code =
          error instanceof Undeliverable
            ? error.code
            : error instanceof GoneError
              ? 'user_erased'
              : error instanceof DecryptionError
                ? 'undecryptable'
                : errorCode(error);
        const permanent =
          error instanceof Undeliverable ||
          error instanceof GoneError ||
          error instanceof DecryptionError;
        const gaveUp = permanent || message.attempts >= MAX_ATTEMPTS;
        await recordFailure(message, code, gaveUp);
        if (gaveUp) counts.failed += 1;
        else counts.retried += 1;
        continue;
      }
      await recordSent(message);
      counts.sent += 1;
    }
  } finally {
    transport.close();
  }
  return counts;
}

const SENDER: Actor = job(OUTBOX_JOB);

async function recordSent(message: Claimed) {
  await getDb().transaction(async (tx) => {
    const at = now();
    await tx
      .update(userOutbox)
      .set({ state: 'sent', sentAt: at, lastError: null })
      .where(eq(userOutbox.id, message.id));
    if (message.requestId === null) {
      await recordInquiryMessage(tx, message, { result: 'sent' });
      return;
    }
    // The user now knows the request arrived: what CCPA's 10 business days ask (ADR 024).
    if (message.template === 'acknowledgement' || message.template === 'confirm_request') {
      await tx
        .update(privacyRequests)
        .set({
          acknowledgedAt: sql`coalesce(${privacyRequests.acknowledgedAt}, ${at.toISOString()}::timestamptz)`,
        })
        .where(eq(privacyRequests.id, message.requestId));
    }
    await addEvent(tx, SENDER, {
      requestId: message.requestId,
      at,
      kind: 'message',
      note: `${USER_MESSAGE_LABELS[message.template]} sent`,
    });
    await recordAudit(
      SENDER,
      {
        action: 'privacy.message',
        outcome: 'allowed',
        userId: message.userId,
        privacyRequestId: message.requestId,
        details: { template: message.template, result: 'sent', attempt: message.attempts },
      },
      tx,
    );
  });
}

async function recordFailure(message: Claimed, code: string, gaveUp: boolean) {
  await getDb().transaction(async (tx) => {
    const at = now();
    await tx
      .update(userOutbox)
      .set({
        state: gaveUp ? 'failed' : 'queued',
        lastError: code,
        nextAttemptAt: gaveUp ? at : addMinutes(at, backoffMinutes(message.attempts)),
      })
      .where(eq(userOutbox.id, message.id));
    if (message.requestId === null) {
      await recordInquiryMessage(tx, message, { result: gaveUp ? 'failed' : 'retry', error: code });
      return;
    }
    if (gaveUp) {
      await addEvent(tx, SENDER, {
        requestId: message.requestId,
        at,
        kind: 'message',
        note: `${USER_MESSAGE_LABELS[message.template]} not sent (${code}, ${message.attempts} attempt(s))`,
      });
    }
    await recordAudit(
      SENDER,
      {
        action: 'privacy.message',
        outcome: 'failed',
        userId: message.userId,
        privacyRequestId: message.requestId,
        details: {
          template: message.template,
          result: gaveUp ? 'failed' : 'retry',
          attempt: message.attempts,
          error: code,
        },
      },
      tx,
    );
  });
}

/** An inquiry reply's attempt in the trail: the inquiry's id and the result, never the text. */
async function recordInquiryMessage(
  tx: Tx,
  message: Claimed,
  outcome: { result: 'sent' | 'retry' | 'failed'; error?: string },
) {
  await recordAudit(
    SENDER,
    {
      action: 'inquiry.message',
      outcome: outcome.result === 'sent' ? 'allowed' : 'failed',
      userId: message.userId,
      details: {
        inquiry: message.inquiryId!,
        result: outcome.result,
        attempt: message.attempts,
        ...(outcome.error ? { error: outcome.error } : {}),
      },
    },
    tx,
  );
}

export const privacyOutboxJob = defineJob({
  name: OUTBOX_JOB,
  description: 'Sends the messages queued for privacy requests’ users (when a mail server is set)',
  payload: z.object({}).loose(),
  cron: '* * * * *',
  run: () => sendQueuedMessages(),
});
