// The record of processing (GDPR Art. 30, ADR 036): what the console's owner processes, why, on
// which legal basis, for how long, and who receives it where. Kept in the database, versioned
// (record.server.ts); this file holds its shape and vocabulary, shared by the page and the server,
// and the one function that turns a version into the access package's Art. 15 information, so
// the package and the record never disagree. Plain strings, no personal data.

export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interests',
  'public_task',
  'legitimate_interests',
] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

export const LEGAL_BASIS_LABELS: Record<LegalBasis, string> = {
  consent: 'consent (Art. 6(1)(a))',
  contract: 'performance of a contract (Art. 6(1)(b))',
  legal_obligation: 'legal obligation (Art. 6(1)(c))',
  vital_interests: 'vital interests (Art. 6(1)(d))',
  public_task: 'public task (Art. 6(1)(e))',
  legitimate_interests: 'legitimate interests (Art. 6(1)(f))',
};

export const RECIPIENT_KINDS = [
  'payment_provider',
  'cloud_hosting',
  'analytics_provider',
  'staff',
  'other',
] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];

export const RECIPIENT_KIND_LABELS: Record<RecipientKind, string> = {
  payment_provider: 'payment provider',
  cloud_hosting: 'cloud hosting',
  analytics_provider: 'analytics provider',
  staff: 'our staff',
  other: 'other recipient',
};

export interface RecordPurpose {
  name: string;
  legalBasis: LegalBasis;
  /** What the user is told (the Art. 15 section's line). */
  description: string;
}

export interface RecordCategory {
  name: string;
  description: string;
  /** How long it is kept, as the user is told; read through retentionFor() (record.server.ts). */
  retention: string;
  /**
   * The retention policy (a category of console.retention_policies, ADR 032) that removes this
   * category's data, if one does: retentionFor() then adds the policy's live period to the text,
   * so the user is told the period the purge actually applies. A plain string here: the privacy
   * module reads the policies table, never the retention module (which depends on privacy).
   */
  policy?: string;
}

export interface RecordRecipient {
  name: string;
  kind: RecipientKind;
  /** The agreement with them (a data processing agreement, its date). */
  agreement: string;
  /** What they receive, as the user is told. */
  receives: string;
  /** Transfers outside the EEA and their safeguard, or none. */
  transfers: string;
}

export interface ProcessingRecord {
  purposes: RecordPurpose[];
  categories: RecordCategory[];
  recipients: RecordRecipient[];
  /** Where the data comes from. */
  sources: string[];
  /** The user's rights. */
  rights: string[];
}

/** The record's sections, in the order they are edited and shown (and named in the audit trail). */
export const RECORD_SECTIONS = [
  'purposes',
  'categories',
  'recipients',
  'sources',
  'rights',
] as const;
export type RecordSection = (typeof RECORD_SECTIONS)[number];

/** The fields of each row of a list section, in the order of the form. */
export const ROW_FIELDS = {
  purposes: ['name', 'legalBasis', 'description'],
  categories: ['name', 'description', 'retention', 'policy'],
  recipients: ['name', 'kind', 'agreement', 'receives', 'transfers'],
} as const;
export type RowSection = keyof typeof ROW_FIELDS;

/** The most rows a list section may hold, and the most lines of sources or rights. */
export const MAX_ROWS = 40;

/** The form field of a row's field (`recipients.2.name`) and of a row's removal. */
export const rowField = (section: RowSection, index: number, field: string) =>
  `${section}.${index}.${field}`;

export interface InformationSection {
  heading: string;
  lines: readonly string[];
}

/**
 * What GDPR Art. 15(1) says a copy of one's data comes with — purposes, categories, recipients,
 * retention, transfers, source, rights — drawn from one version of the record. `retention` is each
 * category's retention as retentionFor() answers it (in the categories' order).
 */
export function art15Information(
  record: ProcessingRecord,
  retention: readonly string[],
): InformationSection[] {
  const transfers = record.recipients
    .filter((r) => r.transfers.trim() !== '')
    .map((r) => `${r.name}: ${r.transfers}`);
  return [
    {
      heading: 'Why we process your data (purposes)',
      lines: record.purposes.map(
        (p) => `${p.name}: ${p.description} Legal basis: ${LEGAL_BASIS_LABELS[p.legalBasis]}.`,
      ),
    },
    {
      heading: 'What data (categories)',
      lines: record.categories.map((c) => `${c.name}: ${c.description}`),
    },
    {
      heading: 'Who receives it (recipients)',
      lines: record.recipients.map(
        (r) => `${r.name} (${RECIPIENT_KIND_LABELS[r.kind]}): ${r.receives}`,
      ),
    },
    {
      heading: 'How long it is kept (retention)',
      lines: record.categories.map((c, i) => `${c.name}: ${retention[i] ?? c.retention}`),
    },
    {
      heading: 'Where it goes outside the EEA (transfers)',
      lines: transfers.length > 0 ? transfers : ['No transfers outside the EEA.'],
    },
    { heading: 'Where it comes from (source)', lines: record.sources },
    { heading: 'Your rights', lines: record.rights },
  ];
}

/** The information as plain text (information.txt). */
export function informationText(sections: readonly InformationSection[]): string {
  return sections
    .map(
      (s) =>
        `${s.heading}\n${'='.repeat(s.heading.length)}\n${s.lines.map((l) => `- ${l}`).join('\n')}\n`,
    )
    .join('\n');
}
