import type { DataCategory } from '#app/modules/vocabulary.ts';

// The identifiers that are masked by default and revealed one at a time, each reveal audited with
// the field's code: the email and phone of the profile, and a payment reference's last four digits.

export type RevealField = 'email' | 'phone' | `last4:${string}`;

export function categoryOfField(field: RevealField): DataCategory {
  return field.startsWith('last4:') ? 'payments' : 'profile';
}

export function fieldLabel(field: RevealField): string {
  if (field === 'email') return 'email address';
  if (field === 'phone') return 'phone number';
  return 'card’s last four digits';
}

/** "+44 7700 900123" → "+•• •••• ••••23": the shape stays, every digit but the last two goes. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '').length;
  let seen = 0;
  return phone.replace(/\d/g, (d) => (++seen > digits - 2 ? d : '•'));
}

export const MASKED_LAST4 = '••••';
