// The results panel: renders the host's snapshot (status, stage, table, charts) and posts user actions.
// DOM contract (tests rely on it): #status, #stage, #backend, #notes, #structure, table#layers tbody tr[data-layer],
// #chart-sparsity, #chart-saliency, #chart-accuracy, #chart-size (sweep), #size (prune: before/after bar), #open-model,
// #open-report, #run-again, #sweep.
import { evalTerms, stageLabel, type PanelSnapshot, type ToWebviewMessage } from '../src/protocol';
import { renderCharts, watchTheme } from './charts';
import { chartOn, theme } from './chartKit';
import { COLUMNS } from './layerRows';
import { renderSensitivity } from './sensitivityChart';
import { saveView, tableView } from './viewState';
import { renderGradual } from './gradual';
import { count, pct } from './format';
import { nextSort, renderTable, revealRow } from './table';
import { renderSize } from './size';
import { connect, savedState, saveState } from './vscodeApi';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const tbody = document.querySelector<HTMLTableSectionElement>('table#layers tbody')!;
let current: PanelSnapshot | undefined = savedState().snapshot;
let pendingReveal: string | undefined;

export function statusText(s: PanelSnapshot): string {
  switch (s.status) {
    case 'running':
      return s.mode === 'gradual' && s.gradual?.epochs.length
        ? `running… epoch ${s.gradual.epochs.length}/${s.gradual.schedule?.epochs ?? '?'} done`
        : 'running…';
    case 'done':
      return s.mode === 'sweep'
        ? `done — ${s.sweep?.length ?? 0} sweep points`
        : s.structure
          ? `done — ${s.structure.units.removed} of ${s.structure.units.total} units removed, FLOPs ${pct(s.structure.after.flops / s.structure.before.flops)}${s.seconds !== undefined ? ` in ${s.seconds.toFixed(1)} s` : ''}`
          : `done — ${pct(s.sparsity?.achieved)} sparsity${s.seconds !== undefined ? ` in ${s.seconds.toFixed(1)} s` : ''}`;
    case 'cancelled':
      return 'cancelled';
    case 'error':
      return `error: ${s.error ?? 'unknown error'}`;
    default:
      return 'idle';
  }
}

/** Structured runs: what the smaller model costs, measured (latency: median on the run's backend). */
export function structureText(st: NonNullable<PanelSnapshot['structure']>): string {
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  return (
    `params ${count(st.before.params)} → ${count(st.after.params)} · FLOPs ${count(st.before.flops)} → ${count(st.after.flops)} · ` +
    `latency batch 1 ${ms(st.before.latencyMs.batch1)} → ${ms(st.after.latencyMs.batch1)}, batch 32 ${ms(st.before.latencyMs.batch32)} → ${ms(st.after.latencyMs.batch32)}`
  );
}

function render(s: PanelSnapshot): void {
  document.title = `WoodFisher: ${s.title}`;
  $('title').textContent =
    s.mode === 'sweep'
      ? `${s.title} — ${s.sweepEpochs !== undefined ? `gradual sparsity sweep (${s.sweepEpochs} epochs per point)` : 'sparsity sweep'}`
      : s.mode === 'gradual'
        ? `${s.title} — gradual pruning`
        : s.title;
  const status = $('status');
  status.textContent = statusText(s);
  status.className = `status-${s.status}`;
  const st = s.stage;
  $('stage').textContent = s.status === 'running' && st ? stageLabel(st) : '';
  const progress = $<HTMLProgressElement>('progress');
  progress.hidden = s.status !== 'running';
  progress.value = st && st.total > 0 ? st.done / st.total : 0;
  $('backend').textContent = s.backend ?? '–';
  const notes = $('notes');
  notes.textContent = (s.notes ?? []).join('\n');
  notes.hidden = !s.notes?.length;
  $('damp').textContent = s.damp !== undefined ? s.damp.toExponential(1) : '–';
  const summary: string[] = [];
  if (s.structure && s.sparsity) {
    const t =
      s.structure.targetFlops !== undefined ? `FLOPs target ${pct(s.structure.targetFlops)}` : `target ${pct(s.sparsity.target)} of units`;
    summary.push(`${count(s.sparsity.pruned)} of ${count(s.sparsity.weights)} weights removed with their units (${t})`);
  } else if (s.sparsity)
    summary.push(`${count(s.sparsity.pruned)} of ${count(s.sparsity.weights)} weights pruned (target ${pct(s.sparsity.target)})`);
  const terms = evalTerms(s.before);
  if (s.before) summary.push(`${terms.score} before ${pct(s.before.accuracy, 2)}${terms.against ? ` (${terms.against})` : ''}`);
  if (s.mode === 'sweep') {
    // the table and layer charts show the latest point; the sweep itself is the accuracy-vs-sparsity chart
    const last = s.sweep?.at(-1);
    if (last) summary.push(`table: last point, ${last.method} at ${pct(last.sparsity)}`);
  } else if (s.after) summary.push(`after ${pct(s.after.accuracy, 2)}`);
  $('summary').textContent = summary.join(' · ');
  $('structure').textContent = s.structure ? structureText(s.structure) : '';
  $('structure').hidden = !s.structure;
  const finishedPrune = s.status === 'done' && s.mode !== 'sweep';
  $<HTMLButtonElement>('open-model').disabled = !finishedPrune;
  $<HTMLButtonElement>('open-report').disabled = !(finishedPrune && s.reportPath);
  $<HTMLButtonElement>('run-again').disabled = s.status === 'running';
  $<HTMLButtonElement>('sweep').disabled = s.status === 'running';
  $('cancel').hidden = s.status !== 'running';
  renderTable(tbody, s);
  renderCharts(s);
  renderSensitivity(s, theme(), pickOverride);
  $<HTMLButtonElement>('sensitivity').disabled = s.status === 'running';
  $('save-sweep-svg').hidden = !(s.mode === 'sweep' && s.sweep?.length);
  renderSize(s);
  renderGradual(s);
  $('log').textContent = s.log.join('\n');
  $('log-box').hidden = !s.log.length;
  if (pendingReveal && revealRow(tbody, pendingReveal)) pendingReveal = undefined;
}

const channel = connect((m: ToWebviewMessage) => {
  if (m.type === 'snapshot') {
    current = m.snapshot;
    saveState({ ...savedState(), snapshot: current });
    render(current);
  } else if (m.type === 'revealLayer') {
    reveal(m.name);
  }
});

/** Highlights a layer's row, clearing a name filter that hides it. */
function reveal(name: string): void {
  if (revealRow(tbody, name)) return;
  if (tableView.filter && current?.layers.some(l => l.name === name)) {
    tableView.filter = '';
    $<HTMLInputElement>('layer-filter').value = '';
    saveView();
    renderTable(tbody, current);
    if (revealRow(tbody, name)) return;
  }
  pendingReveal = name;
}

function pickOverride(name: string, sparsity: number): void {
  channel.sendEvent({ type: 'setLayerOverride', name, sparsity });
}

/** Table and chart arrangement: re-render from the current snapshot, remember it. */
function rearrange(): void {
  saveView();
  if (current) {
    renderTable(tbody, current);
    renderCharts(current);
    renderSensitivity(current, theme(), pickOverride);
  }
}

for (const [id, type] of [
  ['open-model', 'openModel'],
  ['open-report', 'openReport'],
  ['run-again', 'runAgain'],
  ['sweep', 'sweep'],
  ['cancel', 'cancel'],
  ['sensitivity', 'sensitivity'],
] as const) {
  $(id).addEventListener('click', () => channel.sendEvent({ type }));
}
// a click on a row shows the layer in model.json (selected text is left alone)
tbody.addEventListener('click', e => {
  const row = (e.target as HTMLElement).closest('tr');
  if (row?.dataset.layer && !document.getSelection()?.toString()) channel.sendEvent({ type: 'showLayerInModel', name: row.dataset.layer });
});
// a click on a sparsity bar highlights that layer's row
document.addEventListener('woodfisher:layer', e => reveal((e as CustomEvent<string>).detail));
document.querySelectorAll<HTMLTableCellElement>('table#layers thead th').forEach((th, i) => {
  th.tabIndex = 0;
  const sort = () => {
    nextSort(COLUMNS[i]);
    rearrange();
  };
  th.addEventListener('click', sort);
  th.addEventListener('keydown', e => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      sort();
    }
  });
});
const filter = $<HTMLInputElement>('layer-filter');
filter.value = tableView.filter;
filter.addEventListener('input', () => {
  tableView.filter = filter.value;
  rearrange();
});
const highlight = $<HTMLInputElement>('sparsity-highlight');
highlight.value = tableView.highlight !== undefined ? String(tableView.highlight) : '';
highlight.addEventListener('input', () => {
  const v = highlight.value.trim() === '' ? undefined : Number(highlight.value);
  tableView.highlight = v !== undefined && Number.isFinite(v) ? Math.min(100, Math.max(0, v)) : undefined;
  rearrange();
});
document.querySelector('table#sensitivity-table')?.addEventListener('click', e => {
  const b = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-sparsity]');
  const layer = b?.closest('tr')?.dataset.layer;
  if (b && layer) pickOverride(layer, Number(b.dataset.sparsity));
});
const metric = $<HTMLSelectElement>('sensitivity-metric');
metric.value = tableView.metric;
metric.addEventListener('change', () => {
  tableView.metric = metric.value === 'loss' ? 'loss' : 'accuracy';
  rearrange();
});
// Save a chart: PNG straight from its canvas; the sweep also as SVG, drawn by the host.
document.querySelectorAll<HTMLButtonElement>('button[data-save]').forEach(b =>
  b.addEventListener('click', () => {
    const chart = b.dataset.chart ?? '',
      format = b.dataset.save === 'svg' ? 'svg' : 'png';
    const dataUrl = format === 'png' ? chartOn(`chart-${chart}`)?.toBase64Image('image/png') : undefined;
    channel.sendEvent({ type: 'saveChart', chart: current?.mode === 'sweep' && chart === 'accuracy' ? 'sweep' : chart, format, dataUrl });
  }),
);
watchTheme(() => {
  if (current) {
    renderCharts(current);
    renderSensitivity(current, theme(), pickOverride);
    renderGradual(current);
  }
});

if (current) render(current);
channel.sendEvent({ type: 'ready' });
