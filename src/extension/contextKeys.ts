// The context keys this extension sets (setContext) for package.json's when-clauses: each name once, here.
// test/extension-pure/contextKeys.test.ts checks that every woodfisher.* key a when-clause reads is one of these.
export const CONTEXT_KEYS = {
  /** A pruning job runs: the palette offers Cancel Pruning. */
  running: 'woodfisher.running',
  /** Some model has results (this window's runs, or a report.json found for a model shown): Open Pruning Report / Open Pruned Model. */
  hasResults: 'woodfisher.hasResults',
} as const;
