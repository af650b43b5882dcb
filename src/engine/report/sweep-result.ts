// The result of a sparsity sweep (what sweep.json holds and sweep.svg plots).
import type { EvalResult, Method } from '../types';

export interface SweepPoint {
  method: Method;
  sparsity: number;             // target
  achieved: number;
  accuracy: number;             // after pruning, on the eval data
  loss: number;
  output: string;               // folder of this run's pruned model and report.json
  seconds: number;
}

export interface SweepResult {
  version: 1;
  model: string;
  dense?: EvalResult;           // accuracy before pruning
  methods: Method[];
  sparsities: number[];
  points: SweepPoint[];
  gradual?: { epochs: number };  // every point a gradual run of this many epochs
}
