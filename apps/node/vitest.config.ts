import { packageTests } from '../../vitest.shared.ts';

// Multi-process devnet tests share two cores: run their files one after another.
export default packageTests({ testTimeoutMs: 240_000, fileParallelism: false });
