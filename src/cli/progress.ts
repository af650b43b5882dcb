// Progress for terminals: a bar on a TTY (stage, layer, k/N, rate, ETA), plain lines otherwise (a line per stage — a
// stage run layer by layer counted over all its layers — then every few seconds its count, rate and ETA, also between
// engine events), nothing with --json.
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { stageLabel, type StageEvent } from '../engine/stages';
import type { PruneEvent } from '../engine/types';

export interface Progress {
  onEvent(e: PruneEvent): void;
  /** A line of its own (e.g. "run 2/8: woodfisher at 90%"). */
  note(message: string): void;
  stop(): void;
}

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export function progressMode(json: boolean | undefined, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  return json ? 'quiet' : stream.isTTY ? 'bar' : 'lines';
}

const label = (e: StageEvent) => stageLabel(e, { counts: false }); // the bar shows the counts; the message names the phase (λ search, layer group …)

/** What a stage counts. */
const unitOf = (stage: string) =>
  stage === 'gradients' || stage === 'evaluate' ? 'samples' : stage === 'blocks' || stage === 'update' ? 'blocks' : 'steps';

/** 75 s → "1m15s", 4000 s → "1h07m". */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  if (t < 3600) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

export interface LinesOptions {
  every?: number; // seconds between progress lines of one stage (default 5)
  now?: () => number; // seconds, for tests
  timer?: boolean; // also print between events (default true): a slow batch still shows the run is alive
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WritableStream = process.stderr, opts: LinesOptions = {}): Progress {
  if (mode === 'quiet') return { onEvent() {}, note() {}, stop() {} };
  if (mode === 'lines') {
    const every = opts.every ?? 5,
      now = opts.now ?? (() => performance.now() / 1000);
    let cur:
      { label: string; unit: string; done: number; total: number; t0: number; done0: number; printed: number; layer?: string } | undefined;
    const status = () => {
      if (!cur) return;
      const dt = now() - cur.t0,
        rate = dt > 0 ? (cur.done - cur.done0) / dt : 0;
      const eta = rate > 0 ? `, ETA ${formatDuration((cur.total - cur.done) / rate)}` : '';
      const at = cur.layer ? `, at ${cur.layer}` : '';
      stream.write(
        `  ${cur.label}: ${cur.done}/${cur.total}, ${rate >= 10 ? rate.toFixed(0) : rate.toPrecision(2)} ${cur.unit}/s${eta}${at}\n`,
      );
      cur.printed = now();
    };
    const timer =
      opts.timer === false
        ? undefined
        : setInterval(
            () => {
              if (cur && cur.done < cur.total && now() - cur.printed >= every) status();
            },
            1000 * Math.min(every, 1),
          );
    timer?.unref();
    return {
      onEvent(e) {
        if (e.type === 'stage') {
          // a stage run layer by layer (blocks, update) is one phase counted over every layer, its layer said on the way
          const count = e.overall ?? e,
            layer = e.overall ? e.layer : undefined;
          const l = label(e.overall ? { ...e, layer: undefined } : e);
          if (l !== cur?.label) {
            stream.write(`${l} (${count.total})\n`); // one line per stage (per layer only without an overall count): readable in CI logs
            cur = {
              label: l,
              unit: unitOf(e.stage),
              done: count.done,
              total: count.total,
              t0: now(),
              done0: count.done,
              printed: now(),
              layer,
            };
          } else {
            cur.done = count.done;
            cur.total = count.total;
            cur.layer = layer;
            if (now() - cur.printed >= every && count.done < count.total) status();
          }
        } else if (e.type === 'log') {
          stream.write(`${e.level}: ${e.message}\n`);
        }
      },
      note(m) {
        stream.write(`${m}\n`);
      },
      stop() {
        if (timer) clearInterval(timer);
      },
    };
  }
  const multi = new MultiBar(
    {
      format: '{label} [{bar}] {value}/{total} ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      stream: stream as NodeJS.WriteStream,
      barsize: 30,
    },
    Presets.shades_classic,
  );
  let bar: SingleBar | undefined;
  return {
    onEvent(e) {
      if (e.type === 'stage') {
        const payload = { label: label(e).padEnd(28) };
        if (!bar) bar = multi.create(e.total, e.done, payload);
        else {
          bar.setTotal(e.total);
          bar.update(e.done, payload);
        }
      } else if (e.type === 'log') {
        multi.log(`${e.level}: ${e.message}\n`);
      }
    },
    note(m) {
      multi.log(`${m}\n`);
    },
    stop() {
      multi.stop();
    },
  };
}
