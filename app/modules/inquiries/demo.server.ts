import { getDb } from '#app/db/client.server.ts';
import { inquiries } from '#app/db/schema.ts';
import { commandLine } from '#app/modules/actor.ts';
import { decideGrant, requestGrant } from '#app/modules/access/grants.server.ts';
import { staffActor } from '#app/modules/auth/actor.server.ts';
import { staffIdsByEmail } from '#app/modules/auth/staff.server.ts';
import { now } from '#app/modules/clock.server.ts';
import { firstUsers } from '#app/modules/users/data.server.ts';
import {
  assignInquiry,
  closeInquiry,
  createInquiry,
  inquiryToPrivacyRequest,
  replyToInquiry,
  setInquiryState,
} from './inquiries.server.ts';
import type { InquiryCategory } from './vocabulary.ts';

// The demo's inquiries, made through the real paths on the first start so the queue is alive:
// every state, assigned and unassigned, some overdue and some due soon, a privacy inquiry turned
// into a privacy request. Demo texts only, sealed under each demo user's key like any other.

const HOUR = 3_600_000;

interface DemoInquiry {
  category: InquiryCategory;
  subject: string;
  body: string;
  hoursAgo: number;
  /** Who takes it (`agent`, `agent2`) or is given it by the lead; then what they do. */
  assignee?: 'agent' | 'agent2';
  reply?: { body: string; next: 'waiting_on_user' | 'answered' };
  then?: 'answered' | 'closed';
  /** A privacy officer turns it into a privacy request of this type. */
  privacy?: 'access' | 'erasure';
  /**
   * Its assignee asks for a grant of more of the user's data, bound to the inquiry (ADR 034):
   * left for a lead to decide, or approved by the lead, so the lead's queue and a live grant are
   * both there on the first start.
   */
  grant?: { categories: string[]; justification: string; ticketRef: string; approved: boolean };
}

const DEMO: DemoInquiry[] = [
  {
    category: 'account',
    subject: 'Cannot sign in after changing my phone',
    body: 'The code never arrives on my new phone.',
    hoursAgo: 1,
  },
  {
    category: 'billing',
    subject: 'Charged twice this month',
    body: 'I see two charges for the Plus plan on my statement.',
    hoursAgo: 22,
  },
  {
    category: 'abuse_report',
    subject: 'Someone shared my conversation',
    body: 'A link to one of my chats was posted on a forum.',
    hoursAgo: 3,
  },
  {
    category: 'other',
    subject: 'Feature question about exports',
    body: 'Can I export a single conversation as a PDF?',
    hoursAgo: 60,
  },
  {
    category: 'privacy',
    subject: 'What data do you keep about me?',
    body: 'Please tell me everything you store about my account.',
    hoursAgo: 6,
  },
  {
    category: 'account',
    subject: 'Change the email on my account',
    body: 'I no longer use my old address and want to move to a new one.',
    hoursAgo: 5,
    assignee: 'agent',
    grant: {
      categories: ['profile'],
      justification: 'Confirm the current email before moving the account to the new address',
      ticketRef: 'SUP-2040',
      approved: true,
    },
  },
  {
    category: 'billing',
    subject: 'Refund for an annual plan',
    body: 'I upgraded by mistake and would like a refund.',
    hoursAgo: 30,
    assignee: 'agent',
    grant: {
      categories: ['payments'],
      justification: 'Check which plan was charged and when, to answer the refund request',
      ticketRef: 'SUP-2041',
      approved: false,
    },
  },
  {
    category: 'account',
    subject: 'My account was locked',
    body: 'It says too many attempts, but I only tried once.',
    hoursAgo: 12,
    assignee: 'agent2',
  },
  {
    category: 'billing',
    subject: 'Invoice with my company name',
    body: 'I need invoices made out to my employer.',
    hoursAgo: 40,
    assignee: 'agent',
    reply: {
      body: 'Could you send us the company name and address to put on the invoices?',
      next: 'waiting_on_user',
    },
  },
  {
    category: 'other',
    subject: 'Dark mode on the web app',
    body: 'Is there a dark mode on the web version?',
    hoursAgo: 50,
    assignee: 'agent2',
    reply: { body: 'Yes: open Settings, Appearance, and choose Dark.', next: 'answered' },
  },
  {
    category: 'account',
    subject: 'Two accounts with one email',
    body: 'I think I created two accounts by mistake.',
    hoursAgo: 80,
    assignee: 'agent',
    reply: {
      body: 'We merged them; your conversations are all in the remaining account.',
      next: 'answered',
    },
    then: 'closed',
  },
  {
    category: 'privacy',
    subject: 'Delete my account and my data',
    body: 'I want everything deleted, please.',
    hoursAgo: 20,
    assignee: 'agent2',
    privacy: 'erasure',
  },
  {
    category: 'abuse_report',
    subject: 'Spam messages from a shared workspace',
    body: 'A workspace keeps inviting me.',
    hoursAgo: 100,
    assignee: 'agent2',
    then: 'closed',
  },
];

/** Makes the demo inquiries once (nothing when any inquiry exists or the demo staff is missing). */
export async function ensureDemoInquiries(): Promise<number> {
  const [any] = await getDb().select({ id: inquiries.id }).from(inquiries).limit(1);
  if (any) return 0;
  const emails = [
    'agent@custodian.test',
    'agent2@custodian.test',
    'lead@custodian.test',
    'privacy@custodian.test',
  ];
  const ids = await staffIdsByEmail(emails);
  if (emails.some((e) => !ids.get(e))) return 0;
  const agent = await staffActor(ids.get('agent@custodian.test')!);
  const agent2 = await staffActor(ids.get('agent2@custodian.test')!);
  const lead = await staffActor(ids.get('lead@custodian.test')!);
  const officer = await staffActor(ids.get('privacy@custodian.test')!);
  // Users other than the first ones the privacy demo takes.
  const users = (await firstUsers(300)).slice(100);
  const product = commandLine('seed: product API');
  let made = 0;
  for (const [i, demo] of DEMO.entries()) {
    const user = users[i * 7];
    if (!user) break;
    const { id } = await createInquiry(
      { userId: user.id, subject: demo.subject, body: demo.body, category: demo.category },
      product,
      { receivedAt: new Date(now().getTime() - demo.hoursAgo * HOUR) },
    );
    if (demo.assignee) {
      const who = demo.assignee === 'agent' ? agent : agent2;
      // The first agent takes theirs; the lead gives the second agent theirs.
      if (demo.assignee === 'agent') await assignInquiry(id, agent.staffId, agent);
      else await assignInquiry(id, agent2.staffId, lead);
      if (demo.grant) {
        const grant = await requestGrant({
          requester: who,
          userId: user.id,
          categories: demo.grant.categories,
          reasonCode: 'support_inquiry',
          justification: demo.grant.justification,
          ticketRef: demo.grant.ticketRef,
          durationMinutes: 60,
          inquiryId: id,
        });
        if (demo.grant.approved) {
          await decideGrant({ grantId: grant.grantId, approver: lead, decision: 'approve' });
        }
      }
      if (demo.reply) await replyToInquiry(id, demo.reply, who);
      if (demo.privacy) await inquiryToPrivacyRequest(id, demo.privacy, officer);
      if (demo.then === 'answered') await setInquiryState(id, 'answered', who);
      if (demo.then === 'closed') await closeInquiry(id, who);
    }
    made++;
  }
  return made;
}
