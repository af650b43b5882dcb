// Order statistics without sorting: the k-th smallest value in O(n) expected (selection of a million saliencies
// sorted them whole, once per capping round: 0.4 s of MobileNetV2-224's selection).

/** The k-th smallest (0-based) of a's values by quickselect with a three-way partition (runs of equal values cost
 *  one pass) and pseudo-random pivots; a is reordered. a must hold no NaN. */
export function kthSmallest(a: Float64Array, k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= a.length) throw new RangeError(`kthSmallest: k = ${k} for ${a.length} values`);
  let lo = 0,
    hi = a.length - 1,
    seed = (0x9e3779b9 ^ a.length) | 1;
  while (lo < hi) {
    seed ^= seed << 13; // xorshift32
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const p = a[lo + ((seed >>> 0) % (hi - lo + 1))];
    // [lo, lt) < p, [lt, i) = p, (gt, hi] > p
    let lt = lo,
      i = lo,
      gt = hi;
    while (i <= gt) {
      const x = a[i];
      if (x < p) {
        a[i++] = a[lt];
        a[lt++] = x;
      } else if (x > p) {
        a[i] = a[gt];
        a[gt--] = x;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return p;
  }
  return a[lo];
}
