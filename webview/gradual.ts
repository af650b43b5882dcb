// A gradual run in the panel: the schedule (target sparsity per epoch, and the sparsity reached), the curves (train
// and eval loss / accuracy per epoch) and sparsity per layer over time, above the one-shot charts (webview/index.html);
// hidden for one-shot runs and sweeps.
// DOM contract: section#gradual, #chart-schedule, #chart-curves, #chart-layer-sparsity, #gradual-steps li[data-step].
import type { PanelSnapshot } from '../src/protocol';
import { draw, theme } from './charts';
import { pct } from './format';

export function renderGradual(s: PanelSnapshot): void {
  const g = s.gradual;
  const el = document.getElementById('gradual');
  if (!el) return;
  el.hidden = s.mode !== 'gradual' || !g;
  if (!g || el.hidden) return;
  const t = theme();
  const color = (i: number) => t.palette[i % t.palette.length];
  const E = g.schedule?.epochs ?? Math.max(1, g.epochs.length);

  // Target: a step function of the epoch (each pruning step raises it); reached: the sparsity at each epoch's end.
  const target: { x: number; y: number }[] = [{ x: 0, y: 0 }];
  for (const st of g.schedule?.steps ?? []) {
    target.push(
      { x: st.epoch, y: target[target.length - 1].y },
      { x: st.epoch, y: Math.max(target[target.length - 1].y, st.sparsity * 100) },
    );
  }
  target.push({ x: E, y: target[target.length - 1].y });
  draw('chart-schedule', {
    type: 'line',
    data: {
      datasets: [
        { label: 'target', data: target, borderColor: color(0), backgroundColor: color(0), pointRadius: 0, borderWidth: 2 },
        {
          label: 'reached',
          data: g.epochs.map(e => ({ x: e.epoch, y: e.sparsity * 100 })),
          borderColor: color(1),
          backgroundColor: color(1),
          showLine: false,
          pointRadius: 4,
        },
      ],
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', min: 0, max: E, title: { display: true, text: 'epoch' } },
        y: { min: 0, max: 100, title: { display: true, text: 'sparsity %' } },
      },
    },
  });

  const epochs = g.epochs;
  const at = (f: (e: (typeof epochs)[number]) => number | undefined) =>
    epochs.map(e => ({ x: e.epoch, y: f(e) ?? null })) as { x: number; y: number }[];
  const before = s.before ? [{ x: 0, y: s.before.accuracy * 100 }] : [];
  draw('chart-curves', {
    type: 'line',
    data: {
      datasets: [
        {
          label: 'train acc %',
          data: [...before, ...at(e => e.train.accuracy * 100)],
          borderColor: color(0),
          backgroundColor: color(0),
          yAxisID: 'y',
        },
        {
          label: 'eval acc %',
          data: [...before, ...at(e => (e.eval ? e.eval.accuracy * 100 : undefined))],
          borderColor: color(1),
          backgroundColor: color(1),
          yAxisID: 'y',
        },
        {
          label: 'train loss',
          data: at(e => e.train.loss),
          borderColor: color(0),
          backgroundColor: color(0),
          borderDash: [4, 3],
          yAxisID: 'y1',
        },
        {
          label: 'eval loss',
          data: at(e => e.eval?.loss),
          borderColor: color(1),
          backgroundColor: color(1),
          borderDash: [4, 3],
          yAxisID: 'y1',
        },
        {
          label: 'after pruning step %',
          data: g.steps.filter(st => st.accuracy !== undefined && !st.skipped).map(st => ({ x: st.epoch, y: st.accuracy! * 100 })),
          borderColor: color(4),
          backgroundColor: color(4),
          showLine: false,
          pointStyle: 'triangle',
          pointRadius: 5,
          yAxisID: 'y',
        },
      ],
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', min: 0, max: E, title: { display: true, text: 'epoch' } },
        y: { position: 'left', max: 100, title: { display: true, text: 'accuracy %' } },
        y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'loss' } },
      },
    },
  });

  const names = [...new Set(g.epochs.flatMap(e => Object.keys(e.layers)))];
  draw('chart-layer-sparsity', {
    type: 'line',
    data: {
      datasets: names.map((n, i) => ({
        label: n,
        data: g.epochs.map(e => ({ x: e.epoch, y: (e.layers[n] ?? 0) * 100 })),
        borderColor: color(i),
        backgroundColor: color(i),
      })),
    },
    options: {
      parsing: false,
      scales: {
        x: { type: 'linear', min: 0, max: E, title: { display: true, text: 'epoch' } },
        y: { min: 0, max: 100, title: { display: true, text: 'sparsity %' } },
      },
    },
  });

  const list = document.getElementById('gradual-steps')!;
  list.replaceChildren(
    ...(g.schedule?.steps ?? []).map(st => {
      const done = g.steps.find(x => x.k === st.k);
      const li = document.createElement('li');
      li.dataset.step = String(st.k);
      li.className = done ? 'done' : 'pending';
      li.textContent =
        `epoch ${+st.epoch.toFixed(3)}: prune to ${pct(st.sparsity)}` +
        (done
          ? done.skipped
            ? ' — already met'
            : ` — reached ${pct(done.achieved, 2)}${done.accuracy !== undefined ? `, accuracy right after ${pct(done.accuracy, 2)}` : ''}`
          : '');
      return li;
    }),
  );
  if (g.checkpoint && s.status !== 'running' && !g.finished) {
    const li = document.createElement('li');
    li.className = 'checkpoint';
    li.textContent = `checkpoint after epoch ${g.checkpoint} kept in the output folder: Gradual Prune with WoodFisher… on this model offers to resume it`;
    list.append(li);
  }
}
