import { packageTests } from '../vitest.shared.ts';

// The tests of the repository's own scripts (run by the root turbo task `//#test:scripts`).
export default packageTests();
