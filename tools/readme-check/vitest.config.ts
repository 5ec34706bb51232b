import { packageTests } from '../../vitest.shared.ts';

// Packing and installing take a while on a shared 2-core machine; every step has its own bound.
export default packageTests({ testTimeoutMs: 1_200_000, fileParallelism: false });
