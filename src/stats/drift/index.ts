/** Two-sample drift statistics, each defined as scipy/numpy compute it (see each function). */
export { chi2Homogeneity, chi2Sf, jensenShannon } from './categorical.js';
export { kolmogorovSf, smirnovSf } from './kolmogorov.js';
export { KS_EXACT_MAX_N, ks2Samp, type TestResult } from './ks.js';
export { binCounts, decileEdges, PSI_FLOOR, psiFromCounts, psiNumeric, quantileSorted, stdDev, wasserstein1 } from './numeric.js';
export { sortFloat64 } from './sort.js';
