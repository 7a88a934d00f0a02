import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { getSql } from '#app/db/client.server.ts';
import type { Actor } from '#app/modules/actor.ts';
import { redactCardNumbers } from '#app/modules/access/redact.ts';
import { recordAudit } from '#app/modules/audit/writer.server.ts';
import { decryptField, type DataKey } from '#app/modules/crypto/envelope.server.ts';
import { unwrapRowKey, type WrappedKeyRow } from '#app/modules/users/data.server.ts';
import type { MessageRole, Model } from '#app/modules/vocabulary.ts';

// `npx custodian training-export --out FILE` (ADR 027): the conversations the service may train
// on, one JSON line per conversation, streamed from one cursor so memory stays flat however many
// there are. Left out: every user whose training preference is off (a restriction or objection
// carried out sets it), every user with a restriction or objection naming training that is not
// denied or canceled (it may still be under way), every user with an erasure request that is not
// denied or canceled, and every user with no profile or no data key (erased). The export is
// audited (export.training, counts only) before the file appears under its name.

/** Whose data the export leaves out, as a condition on `uid` (a user id column). */
const excluded = (uid: string) => `(
  exists (select 1 from product.data_use_preferences p
           where p.user_id = ${uid} and p.purpose = 'training' and not p.allowed)
  or exists (select 1 from console.privacy_requests r
              where r.user_id = ${uid} and r.state not in ('denied', 'canceled')
                and (r.type = 'erasure'
                     or (r.type in ('restriction', 'objection') and 'training' = any(r.purposes)))))`;

const BATCH = 500;

interface MessageLine extends WrappedKeyRow {
  id: string;
  user_id: string;
  conversation_id: string;
  model: Model;
  role: MessageRole;
  content_enc: Buffer;
}

export interface TrainingExport {
  file: string;
  conversations: number;
  messages: number;
  users: number;
  excludedUsers: number;
}

/** Writes the export to `file` (replacing it), audits it, and says what it holds. */
export async function writeTrainingExport(file: string, actor: Actor): Promise<TrainingExport> {
  const target = path.resolve(file);
  const partial = `${target}.partial-${process.pid}`;
  const out = fs.createWriteStream(partial, { mode: 0o600 });
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const counts = { conversations: 0, messages: 0, users: 0 };
  try {
    const sql = getSql();
    let conversation: string | null = null;
    let userId: string | null = null;
    let key: DataKey | null = null;
    const cursor = sql
      .unsafe<MessageLine[]>(
        `select m.id, m.user_id, m.conversation_id, c.model, m.role, m.content_enc,
                k.key_version, k.master_key_id, k.wrapped_key
           from product.messages m
           join product.conversations c on c.id = m.conversation_id and c.user_id = m.user_id
           join product.users u on u.id = m.user_id
           join product.user_keys k on k.user_id = m.user_id
          where not ${excluded('m.user_id')}
          order by m.user_id, m.conversation_id, m.created_at, m.id`,
      )
      .cursor(BATCH);
    for await (const rows of cursor) {
      for (const row of rows) {
        if (userId !== row.user_id) {
          userId = row.user_id;
          key = unwrapRowKey(row.user_id, row);
          counts.users++;
        }
        if (!key) continue;
        if (conversation !== row.conversation_id) {
          if (conversation !== null) await write(']}\n');
          conversation = row.conversation_id;
          counts.conversations++;
          await write(
            `{"conversation":${JSON.stringify(row.conversation_id)},"model":${JSON.stringify(row.model)},"messages":[`,
          );
        } else {
          await write(',');
        }
        const content = redactCardNumbers(
          decryptField(key, 'messages.content', row.id, row.content_enc),
        );
        await write(JSON.stringify({ role: row.role, content }));
        counts.messages++;
      }
    }
    if (conversation !== null) await write(']}\n');
    out.end();
    await once(out, 'finish');
    const [left] = await sql.unsafe<{ n: number }[]>(
      `select count(*)::int as n from (
         select user_id from product.data_use_preferences
         union select user_id from console.privacy_requests) x
        where ${excluded('x.user_id')}`,
    );
    const excludedUsers = left?.n ?? 0;
    // Audit, then show: the file gets its name only once the entry is committed.
    await recordAudit(actor, {
      action: 'export.training',
      outcome: 'allowed',
      details: { ...counts, excludedUsers },
    });
    fs.renameSync(partial, target);
    return { file: target, ...counts, excludedUsers };
  } catch (error) {
    out.destroy();
    fs.rmSync(partial, { force: true });
    throw error;
  }
}
