// How the user has arranged the panel (table sort, name filter, highlight sparsity, sensitivity metric): kept in
// the webview state beside the snapshot, so it survives hiding the panel and reloading the window.
import type { Column, Direction } from './layerRows';
import { savedState, saveState } from './vscodeApi';

export interface TableView {
  sort?: Column;
  dir: Direction;
  filter: string;
  highlight?: number;            // percent; rows above it are marked
  metric: 'accuracy' | 'loss';   // what the sensitivity chart plots
}

export const tableView: TableView = { dir: 'desc', filter: '', metric: 'accuracy', ...savedState().view };

export function saveView(): void {
  saveState({ ...savedState(), view: { ...tableView } });
}
