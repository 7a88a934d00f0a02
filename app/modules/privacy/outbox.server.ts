import type { Tx } from '#app/db/client.server.ts';

// The end-user outbox: messages to a user about their request, rendered from templates, stored
// encrypted under the user's key (so erasure removes them), sent by SMTP when configured.
// (Not built yet: queueing a message does nothing.)

export const USER_MESSAGES = [
  'acknowledgement',
  'confirm_request',
  'extension',
  'completion',
  'denial',
] as const;
export type UserMessage = (typeof USER_MESSAGES)[number];

/**
 * Queues a message to the request's user in this transaction, so it exists exactly when the
 * change it announces does. `vars` fill the template (a completion's link, an extension's reason).
 */
export async function queueUserMessage(
  tx: Tx,
  message: {
    userId: string;
    requestId: string;
    template: UserMessage;
    vars?: Record<string, string>;
  },
): Promise<void> {
  await Promise.resolve([tx, message]);
}
