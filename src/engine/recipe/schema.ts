// The recipe JSON Schema (schemas/recipe.schema.json, also what VS Code's jsonValidation/yamlValidation use) and
// finding the node that describes a value: validation messages and the editor's completion and hover read it.
import schema from '../../../schemas/recipe.schema.json';

export interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  markdownDescription?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  $ref?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  exclusiveMinimum?: number;
}

export const recipeSchema = schema;
const root = schema as unknown as SchemaNode & { definitions?: Record<string, SchemaNode> };

/** A $ref resolved to its definition; the referring node's own description wins. */
function resolve(n: SchemaNode | undefined): SchemaNode | undefined {
  if (!n?.$ref) return n;
  const target = root.definitions?.[n.$ref.split('/').pop()!];
  return target
    ? {
        ...target,
        description: n.description ?? target.description,
        markdownDescription: n.markdownDescription ?? target.markdownDescription,
      }
    : n;
}

/** The schema node at a key path (['layers', 'fc1', 'sparsity']); layer names go through additionalProperties. */
export function schemaAt(keys: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const k of keys) {
    node = resolve(node);
    if (!node) return undefined;
    node = node.properties?.[k] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
  }
  return resolve(node);
}
