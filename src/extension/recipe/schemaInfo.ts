// The recipe schema as the editor shows it (completion and hover); the schema itself is the engine's (recipe/schema.ts).
import type { SchemaNode } from '../../engine/recipe';

/** Markdown for hover and completion: the node's description, its allowed values and default. */
export function describe(n: SchemaNode | undefined): string | undefined {
  if (!n) return undefined;
  const text = n.markdownDescription ?? n.description;
  const extra: string[] = [];
  if (n.enum) extra.push(`One of: ${n.enum.map(v => `\`${String(v)}\``).join(', ')}`);
  if (n.default !== undefined && typeof n.default !== 'object') extra.push(`Default: \`${String(n.default)}\``);
  return [text, ...extra].filter(Boolean).join('\n\n');
}
