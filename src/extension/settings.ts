// The `woodfisher.*` settings, turned into engine option overrides.
import * as vscode from 'vscode';
import { parseBytes } from '../engine/report/bytes';
import type { Method, PruneOptions } from '../protocol';
import { messageOf } from './commandArgs';

export interface Settings {
  backend: PruneOptions['backend'];
  samples?: number;
  damp?: number | 'auto';
  blockSize?: number;
  maxMemoryBytes?: number;
  method?: Method;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('woodfisher', scope);
  const num = (k: string) => {
    const v = c.get<number | null>(k);
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  return {
    backend: c.get<PruneOptions['backend']>('backend', 'auto'),
    samples: num('samples'),
    damp: parseDamp(c.get<unknown>('damp')),
    blockSize: num('blockSize'),
    maxMemoryBytes: maxMemory(c.get<string>('maxMemory', '')),
    method: c.get<Method>('method') || undefined,
  };
}

/**
 * Settings as option overrides. Precedence: command arguments > recipe > settings > engine defaults, so a
 * recipe run only takes the machine-specific settings (backend, maxMemory) — see `machineOptions`.
 */
export function settingsAsOptions(s: Settings): Partial<PruneOptions> {
  const o: Partial<PruneOptions> = { backend: s.backend };
  if (s.samples !== undefined) o.samples = s.samples;
  if (s.damp !== undefined) o.damp = s.damp;
  if (s.blockSize !== undefined) o.blockSize = s.blockSize;
  if (s.maxMemoryBytes !== undefined) o.maxMemoryBytes = s.maxMemoryBytes;
  if (s.method !== undefined) o.method = s.method;
  return o;
}

/** woodfisher.maxMemory in bytes: "4GB", "512 MiB", "2e9" (the engine's one reading of sizes); empty: undefined (the
 *  engine picks a safe limit); anything unreadable: one clear error, never silently ignored. */
function maxMemory(text: string): number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    return parseBytes(/^\d+(\.\d+)?e\d+$/i.test(t) ? Number(t) : t.replace(/\s+/g, ''));
  } catch (e) {
    throw new Error(`Setting woodfisher.maxMemory: ${messageOf(e)}`);
  }
}

/** The settings that describe the machine rather than the experiment: they apply to recipe runs too. */
export function machineOptions(s: Settings): Partial<PruneOptions> {
  const o: Partial<PruneOptions> = {};
  if (s.backend && s.backend !== 'auto') o.backend = s.backend;
  if (s.maxMemoryBytes !== undefined) o.maxMemoryBytes = s.maxMemoryBytes;
  return o;
}

/** The damp setting: a string in the Settings UI ("1e-5", "auto", ""); a number from an older settings.json also counts. */
export function parseDamp(v: unknown): number | 'auto' | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string' || !v.trim()) return undefined;
  if (v.trim() === 'auto') return 'auto';
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
