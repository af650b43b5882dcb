// Recipes: YAML/JSON files validated by schemas/recipe.schema.json, turned into PruneOptions.
export type { Recipe, RecipeGradual, RecipeDataset, RecipeDiagnostic, SourceRange } from './types';
export { parseRecipe, loadRecipe, readRecipeText, MAX_RECIPE_BYTES, formatDiagnostic, diagnosticError } from './parse';
export type { ParsedRecipe } from './parse';
export { rangeOfPath, parseSource, lineColumn } from './spans';
export type { RecipeSource, Spans } from './spans';
export { recipeToOptions, recipeFields, recipeToGradualOptions, gradualSettings } from './options';
export { checkRecipeAgainstModel } from './model-check';
export { findRecipeForModel, RECIPE_FILE } from './find';
export { pointerToName } from './validate';
export { recipeSchema, schemaAt } from './schema';
export type { SchemaNode } from './schema';
export { closest, didYouMean } from './suggest';
