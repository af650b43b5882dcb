// The heavy engine (TensorFlow.js) is loaded only when a command runs: `--help` and usage errors stay instant.
export const loadPruneModule = () => import('../engine/prune');
export const loadSweepModule = () => import('../engine/sweep');
export const loadGradualModule = () => import('../engine/gradual/run');
