// Progress for terminals: a bar on a TTY (stage, layer, k/N), plain lines otherwise, nothing with --json.
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

const label = (e: StageEvent) => stageLabel(e, { counts: false, message: false }); // the bar shows the counts

export function createProgress(mode: ProgressMode, stream: NodeJS.WritableStream = process.stderr): Progress {
  if (mode === 'quiet') return { onEvent() {}, note() {}, stop() {} };
  if (mode === 'lines') {
    let last = '';
    return {
      onEvent(e) {
        if (e.type === 'stage') {
          const l = label(e);
          if (l !== last) stream.write(`${l} (${e.total})\n`); // one line per stage / layer: readable in CI logs
          last = l;
        } else if (e.type === 'log') {
          stream.write(`${e.level}: ${e.message}\n`);
        }
      },
      note(m) { stream.write(`${m}\n`); },
      stop() {},
    };
  }
  const multi = new MultiBar({
    format: '{label} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: true, stopOnComplete: false,
    stream: stream as NodeJS.WriteStream, barsize: 30,
  }, Presets.shades_classic);
  let bar: SingleBar | undefined;
  return {
    onEvent(e) {
      if (e.type === 'stage') {
        const payload = { label: label(e).padEnd(28) };
        if (!bar) bar = multi.create(e.total, e.done, payload);
        else { bar.setTotal(e.total); bar.update(e.done, payload); }
      } else if (e.type === 'log') {
        multi.log(`${e.level}: ${e.message}\n`);
      }
    },
    note(m) { multi.log(`${m}\n`); },
    stop() { multi.stop(); },
  };
}
