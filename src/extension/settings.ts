// The `woodfisher.*` settings, turned into engine option overrides.
import * as vscode from 'vscode';
import type { Method, PruneOptions } from '../protocol';
import { parseDamp, parseMaxMemory } from './settingValues';

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
    maxMemoryBytes: parseMaxMemory(c.get<string>('maxMemory', '')),
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

/** The settings that describe the machine rather than the experiment: they apply to recipe runs too. */
export function machineOptions(s: Settings): Partial<PruneOptions> {
  const o: Partial<PruneOptions> = {};
  if (s.backend && s.backend !== 'auto') o.backend = s.backend;
  if (s.maxMemoryBytes !== undefined) o.maxMemoryBytes = s.maxMemoryBytes;
  return o;
}
