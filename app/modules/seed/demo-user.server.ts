import postgres from 'postgres';
import type { KeyRing } from '#app/modules/crypto/keys.server.ts';
import { seedProductData } from './seed.server.ts';

/**
 * Appends one product user, made by the seed's own generator (conversations, messages, usage,
 * preferences, payments), and returns its id: the demo's erasure erases a user made for it, so
 * none of the demo's other users goes. Runs on the database owner's connection, as the seed does.
 */
export async function appendDemoUser(ownerUrl: string, ring: KeyRing): Promise<string> {
  // One connection: the temporary table of the ids known before lives in its session.
  const sql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create temporary table demo_known_users as select id from product.users`;
    await seedProductData(ownerUrl, ring, {
      users: 1,
      messagesPerUser: 10,
      eventsPerUser: 30,
      seed: 12,
      append: true,
      workers: 0,
    });
    const [made] = await sql<{ id: string }[]>`
      select id from product.users except select id from demo_known_users limit 1`;
    if (!made) throw new Error('The seed appended no user');
    return made.id;
  } finally {
    await sql.end();
  }
}
