// What GDPR Art. 15(1) says a copy of one's data comes with: the purposes of the processing, the
// categories of data, the recipients, how long it is kept, where it came from, and the user's other
// rights. One text for every package (information.txt and the last section of index.html), kept
// true to the privacy policy (/work/shared/privacy-policy.txt in the project's notes), DESIGN.md
// and the README: change it when they change. Plain strings, no personal data.

export interface InformationSection {
  heading: string;
  lines: readonly string[];
}

export const ART15_INFORMATION: readonly InformationSection[] = [
  {
    heading: 'Why we process your data (purposes)',
    lines: [
      'To provide, operate and maintain the chat service and its features (your account, conversations and payments).',
      'To train and improve our AI models, unless you opted out of or objected to training.',
      'To customise your experience and remember conversation context within sessions (personalisation), unless you opted out.',
      'To detect abuse, prevent misuse and protect against security threats.',
      'To analyse usage patterns in aggregate (analytics shows no group smaller than a minimum size, and adds noise), unless you objected.',
      'To send service updates, answer your inquiries and requests, and provide support.',
    ],
  },
  {
    heading: 'What data (categories)',
    lines: [
      'Profile: your name, email address, phone number (if given), country, language, plan and account status.',
      'Conversations: their titles and every message, with the model used and token counts.',
      'Payments: references to your payment method at our payment provider (brand, last four digits, expiry) — never the full card number.',
      'Usage: events such as messages sent, sign-ins and plan changes, with their time and country.',
      'Data-use preferences: your choices per purpose (training, analytics, personalisation, marketing) and their history.',
      'Privacy requests: the requests you made to us and their state.',
      'Staff access: when our staff looked at which category of your data, and why (access-history.json).',
    ],
  },
  {
    heading: 'Who receives it (categories of recipients)',
    lines: [
      'Payment providers (Stripe, PayPal), for payments you make.',
      'Cloud hosting providers (AWS, Google Cloud), who store the data for us under strict privacy agreements.',
      'Analytics providers, who may receive limited, aggregated usage figures only.',
      'Our authorised staff, only with a time-limited grant approved by a second person, each access recorded in an audit trail (see access-history.json).',
    ],
  },
  {
    heading: 'How long it is kept (retention)',
    lines: [
      'Your account data, conversations, usage and preferences: while your account exists, until you delete messages or ask us to erase your account.',
      'After an erasure: every row of your data is removed and your encryption key destroyed; only what the law requires us to keep stays, with its reason (payment references for tax records; the record of your privacy requests and of staff access, under a pseudonym).',
      'This package: deleted automatically when its download link expires (seven days after it was made, unless configured otherwise).',
      'Backups: a backup taken before a deletion keeps the data until that backup itself expires.',
    ],
  },
  {
    heading: 'Where it comes from (source)',
    lines: [
      'From you, as you use the service (your profile, conversations, payments and preferences), and from the service itself (usage events, model replies).',
      'We do not buy or receive data about you from third parties.',
    ],
  },
  {
    heading: 'Your rights',
    lines: [
      'You may ask for a copy of your data (this package), have inaccurate data corrected, have your account and data erased, receive your conversations in a machine-readable format, opt out of uses such as AI training, and object to processing.',
      'You may complain to a data protection supervisory authority.',
      'No decision with legal or similarly significant effect is made about you by automated means alone.',
    ],
  },
];

/** The information as plain text (information.txt). */
export function informationText(): string {
  return ART15_INFORMATION.map(
    (s) =>
      `${s.heading}\n${'='.repeat(s.heading.length)}\n${s.lines.map((l) => `- ${l}`).join('\n')}\n`,
  ).join('\n');
}
