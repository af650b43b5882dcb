// Text from a user's files (layer names, folder names) shown in Markdown hovers: every Markdown character escaped,
// so a layer named `[x](command:…)` or `<img …>` is shown as written, never rendered as a link or HTML.
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~&]/g, '\\$&').replace(/\r?\n/g, ' ');
}
