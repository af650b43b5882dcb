// The result of a sparsity sweep (what sweep.json holds and sweep.svg plots).
import type { EvalResult, Method, SizeFigures } from '../types';

export interface SweepPoint {
  method: Method;
  sparsity: number; // target
  achieved: number;
  accuracy: number; // after pruning, on the eval data
  loss: number;
  output: string; // folder of this run's pruned model and report.json
  seconds: number;
  size?: SizeFigures; // of this run's model.json + shards
}

export interface SweepResult {
  version: 1;
  model: string;
  dense?: EvalResult; // accuracy before pruning
  inputSize?: SizeFigures; // of the input's model.json + shards
  methods: Method[];
  sparsities: number[];
  points: SweepPoint[];
  gradual?: { epochs: number }; // every point a gradual run of this many epochs
}
