export { sampleRatioMismatch, type SrmResult, type TestName, type TestResult, twoProportionZTest, welchTTest } from './compare.js';
export { chiSquaredUpper, normalTwoSided, phi, phiInv, studentQuantile, studentTwoSided } from './dist.js';
export { AlwaysValidPValue, MSPRT_MIN_PER_ARM, mixingVariance, msprtLogLikelihoodRatio, msprtPValue } from './msprt.js';
export { cohenH, type ProportionPlan, powerTwoSample, sampleSizeMeans, sampleSizeTwoProportions, solveSampleSize } from './power.js';
export { type ArmSummary, Moments, summarize } from './summary.js';
export { requiredPerArm, type Verdict, type VerdictInput, type VerdictKind, verdictOf } from './verdict.js';
