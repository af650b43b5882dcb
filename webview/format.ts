// Number formatting shared by the table and the charts.
export function pct(x: number | undefined, digits = 1): string {
  return x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}

export function count(n: number | undefined): string {
  return n === undefined ? '–' : n.toLocaleString('en-US');
}

export function sci(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-2 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}
