// The fixed vocabularies of analytics, which the schema turns into checked columns.

export const DATASETS = ['usage', 'preferences'] as const;
export type Dataset = (typeof DATASETS)[number];

export const RELEASE_KINDS = ['daily', 'weekly', 'monthly', 'preferences'] as const;
export type ReleaseKind = (typeof RELEASE_KINDS)[number];
