// How the user has arranged the panel (table sort, name filter, highlight sparsity, sensitivity metric): kept in
// the webview state beside the snapshot, so it survives hiding the panel and reloading the window.
import { savedState, saveState, type TableView } from './vscodeApi';

export type { TableView };

export const tableView: TableView = { dir: 'desc', filter: '', metric: 'accuracy', ...savedState().view };

export function saveView(): void {
  saveState({ ...savedState(), view: { ...tableView } });
}
