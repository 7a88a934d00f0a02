import type { DataCategory } from '#app/modules/vocabulary.ts';

// How the user pages name the data categories, and where a missing grant is requested.

export const CATEGORY_INFO: Record<DataCategory, { label: string; holds: string }> = {
  profile: {
    label: 'Profile',
    holds: 'name, email address, phone number, country, language, plan and account status',
  },
  conversations: { label: 'Conversations', holds: 'conversation titles and their messages' },
  payments: {
    label: 'Payments',
    holds: 'payment provider, card brand, last four digits and expiry (never full card numbers)',
  },
  usage: { label: 'Usage', holds: 'sessions, messages, uploads and tokens over time' },
  preferences: {
    label: 'Data-use preferences',
    holds: 'training, analytics, personalisation and marketing choices, with their history',
  },
  inquiries: {
    label: 'Inquiries',
    holds: 'the subject and the thread of a support inquiry, opened by its assignment alone',
  },
};

/** The grant request form, prefilled for this user and these categories. */
export function requestGrantHref(userId: string, categories: readonly DataCategory[]) {
  const params = new URLSearchParams({ user: userId });
  for (const category of categories) params.append('category', category);
  return `/grants/new?${params.toString()}`;
}
