// Reading the recipe JSON Schema for completion and hover (the same schema jsonValidation uses).
import { recipeSchema } from '../../engine/recipe';

export interface SchemaNode {
  type?: string | string[]; enum?: unknown[]; default?: unknown; description?: string; markdownDescription?: string;
  properties?: Record<string, SchemaNode>; additionalProperties?: SchemaNode | boolean; $ref?: string;
  minimum?: number; maximum?: number; exclusiveMaximum?: number; exclusiveMinimum?: number;
}

const root = recipeSchema as unknown as SchemaNode & { definitions?: Record<string, SchemaNode> };

function resolve(n: SchemaNode | undefined): SchemaNode | undefined {
  if (n?.$ref) {
    const target = root.definitions?.[n.$ref.split('/').pop()!];
    return target ? { ...target, description: n.description ?? target.description, markdownDescription: n.markdownDescription ?? target.markdownDescription } : n;
  }
  return n;
}

/** The schema node at a key path (['layers', 'fc1', 'sparsity']); layer names go through additionalProperties. */
export function schemaAt(keys: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const k of keys) {
    node = resolve(node);
    if (!node) return undefined;
    const next: SchemaNode | undefined = node.properties?.[k] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    node = next;
  }
  return resolve(node);
}

export function describe(n: SchemaNode | undefined): string | undefined {
  if (!n) return undefined;
  const text = n.markdownDescription ?? n.description;
  const extra: string[] = [];
  if (n.enum) extra.push(`One of: ${n.enum.map(v => `\`${String(v)}\``).join(', ')}`);
  if (n.default !== undefined && typeof n.default !== 'object') extra.push(`Default: \`${String(n.default)}\``);
  return [text, ...extra].filter(Boolean).join('\n\n');
}
