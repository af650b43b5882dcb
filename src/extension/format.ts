// Numbers as the editor features show them (lenses, hovers, outline details).
export function fmtCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-2 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(1).replace('e+', 'e');
}

export function fmtPct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
