import { InMemoryS3Backend } from '../../src/s3/memory.js';
import { s3BackendContract } from './backend-contract.js';

s3BackendContract('in-memory', async () => {
  const backend = new InMemoryS3Backend();
  return { backend, count: () => backend.objectCount };
});
