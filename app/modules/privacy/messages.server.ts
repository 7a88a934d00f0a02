import { TYPE_LABELS, type Regime, type RequestMessage, type RequestType } from './vocabulary.ts';

// The words sent to a request's user, every template in one place (ADR 024). Plain text, filled
// with `{name}` variables: those every message knows from its request (the reference, the type,
// the dates, the authority to complain to) and those its caller gives (a completion's link, an
// extension's or a denial's reason). No template asks for a code or holds a link that confirms a
// request: the user confirms by signing in to the product, which staff cannot do for them.

/** Who a user may complain to, by the regime of their request. */
export const COMPLAINT_AUTHORITY: Record<Regime, string> = {
  gdpr:
    'a data protection supervisory authority, in particular in the country where you live or ' +
    'work or where you think the law was broken (the list of EU and EEA authorities is at ' +
    'https://www.edpb.europa.eu/about-edpb/about-edpb/members_en; in the United Kingdom the ' +
    'Information Commissioner’s Office, https://ico.org.uk; in Switzerland the FDPIC, ' +
    'https://www.edoeb.admin.ch)',
  ccpa:
    'the California Privacy Protection Agency (https://cppa.ca.gov) or the California Attorney ' +
    'General (https://oag.ca.gov/privacy)',
  service: 'the data protection authority where you live',
};

export interface RequestFactsForMessage {
  id: string;
  type: RequestType;
  regime: Regime;
  receivedDay: string;
  dueDay: string;
}

interface Template {
  subject: string;
  body: string;
  /** Variables the caller must give. */
  needs: readonly string[];
}

const SIGNATURE = '\n\nThe privacy team';

const TEMPLATES: Record<RequestMessage, Template> = {
  acknowledgement: {
    subject: 'We received your privacy request (reference {ref})',
    needs: [],
    body:
      'Hello,\n\n' +
      'We received your {type} request on {receivedDay} (reference {ref}). We will answer it by ' +
      '{dueDay} at the latest. Should we need more time, we will tell you why before that date.\n\n' +
      'You do not need to do anything now. If you did not make this request, reply to this ' +
      'message and tell us.' +
      SIGNATURE,
  },
  confirm_request: {
    subject: 'Please confirm your privacy request (reference {ref})',
    needs: [],
    body:
      'Hello,\n\n' +
      'We received a {type} request for your account (reference {ref}). To protect your account, ' +
      'we act on it only once you confirm that it comes from you.\n\n' +
      'Please sign in to the app as you usually do and confirm the request under Settings, ' +
      'Privacy. We will never ask you for your password or for a code by email, by phone or by ' +
      'letter, and nobody at our company can confirm it for you.\n\n' +
      'If you did not make this request, do not confirm it, and reply to this message to tell us.' +
      SIGNATURE,
  },
  extension: {
    subject: 'Your privacy request needs more time (reference {ref})',
    needs: ['reason'],
    body:
      'Hello,\n\n' +
      'We need more time to complete your {type} request of {receivedDay} (reference {ref}). We ' +
      'will answer it by {dueDay} at the latest.\n\n' +
      'Why: {reason}\n\n' +
      'If you disagree, you have the right to complain to {authority}.' +
      SIGNATURE,
  },
  completion: {
    subject: 'Your privacy request is complete (reference {ref})',
    needs: [],
    body:
      'Hello,\n\n' +
      'We have completed your {type} request of {receivedDay} (reference {ref}).{link}\n\n' +
      'If something is missing or wrong, reply to this message. You also have the right to ' +
      'complain to {authority}.' +
      SIGNATURE,
  },
  denial: {
    subject: 'We cannot carry out your privacy request (reference {ref})',
    needs: ['reason'],
    body:
      'Hello,\n\n' +
      'We have decided not to carry out your {type} request of {receivedDay} (reference {ref}).\n\n' +
      'Our reasons: {reason}\n\n' +
      'You have the right to complain to {authority}, and to seek a remedy before a court.' +
      SIGNATURE,
  },
};

export interface RenderedMessage {
  subject: string;
  body: string;
}

/** Strips what has no place in a plain-text message: control characters other than new lines. */
// eslint-disable-next-line no-control-regex
const clean = (value: string) => value.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ').trim();

/**
 * The message `template` for this request, filled. A variable the template needs and the caller
 * did not give is a programming error (thrown), never a message with a hole in it.
 */
export function renderMessage(
  template: RequestMessage,
  request: RequestFactsForMessage,
  vars: Record<string, string> = {},
): RenderedMessage {
  const spec = TEMPLATES[template];
  for (const name of spec.needs) {
    if (!vars[name]?.trim()) throw new Error(`the ${template} message needs its ${name}`);
  }
  const link = vars.link?.trim();
  const values: Record<string, string> = {
    ref: request.id.slice(0, 8),
    type: TYPE_LABELS[request.type].replace(/ \(.*\)$/, '').toLowerCase(),
    receivedDay: request.receivedDay,
    dueDay: request.dueDay,
    authority: COMPLAINT_AUTHORITY[request.regime],
    reason: clean(vars.reason ?? ''),
    link: link
      ? `\n\nYour data is ready. Download it here (the link works for a limited time):\n${clean(link)}`
      : '',
  };
  const fill = (text: string) =>
    text.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
  return { subject: fill(spec.subject), body: fill(spec.body) };
}
