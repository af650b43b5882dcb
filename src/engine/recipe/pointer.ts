// JSON pointers (RFC 6901), how diagnostics and spans address a value of a recipe: "/layers/fc1/sparsity".

/** One key as a pointer segment: ~ → ~0, / → ~1. */
export function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A pointer's keys, unescaped ('' → []). */
export function pointerKeys(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map(s => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
