// Pure formatting of reports for terminals and files.
export { formatTable, formatLayerTable, formatComparison, comparisonRow, pct, sci } from './table';
export type { ComparisonRow } from './table';
export { sweepSvg, sizeSvg, escapeXml } from './svg';
export { parseBytes, formatBytes } from './bytes';
export type { SweepPoint, SweepResult } from './sweep-result';
