import type { ReactNode } from 'react';

// Text that comes from people, not from the console: end users' data and staff members' names.
// It is rendered as text (React escapes it), isolated for bidirectional text (<bdi>), and its
// invisible controls are shown as visible tokens: a right-to-left override can make "gnp.exe"
// read as "exe.png", or a staff name swallow the words after it, and staff must see what is
// there. (Zero-width joiners are left alone: emoji sequences need them.)

const HIDDEN = /[\u061C\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;
const HIDDEN_NAMES: Record<string, string> = {
  '\u061C': 'ALM',
  '\u200B': 'ZWSP',
  '\u200E': 'LRM',
  '\u200F': 'RLM',
  '\u202A': 'LRE',
  '\u202B': 'RLE',
  '\u202C': 'PDF',
  '\u202D': 'LRO',
  '\u202E': 'RLO',
  '\u2060': 'WJ',
  '\u2066': 'LRI',
  '\u2067': 'RLI',
  '\u2068': 'FSI',
  '\u2069': 'PDI',
  '\uFEFF': 'BOM',
};

const tokenOf = (char: string) =>
  HIDDEN_NAMES[char] ?? `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** A value from people, as text, isolated, its invisible controls made visible. */
export function IsolatedText({
  value,
  className,
  testId,
}: {
  value: string;
  className: string;
  testId?: string;
}) {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of value.matchAll(HIDDEN)) {
    const char = match[0];
    const code = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    if (match.index > last) parts.push(value.slice(last, match.index));
    parts.push(
      <abbr
        key={match.index}
        title={`Invisible character ${code} (${HIDDEN_NAMES[char] ?? 'control'})`}
        className="hidden-char"
      >
        [{tokenOf(char)}]
      </abbr>,
    );
    last = match.index + char.length;
  }
  if (last < value.length) parts.push(value.slice(last));
  return (
    <bdi className={className} data-testid={testId}>
      {parts}
    </bdi>
  );
}

/**
 * The same for places that hold only text (an <option>, a title, a sentence built as a string):
 * controls as visible tokens, the whole between first-strong and pop isolates.
 */
export function isolatedPlainText(value: string): string {
  return `\u2068${value.replace(HIDDEN, (char) => `[${tokenOf(char)}]`)}\u2069`;
}

/** A staff member's name, wherever one is shown: isolated like end users' text. */
export function StaffName({ name, testId }: { name: string; testId?: string }) {
  return <IsolatedText value={name} className="staff-name" testId={testId} />;
}
