import { InMemoryS3Index } from '../../src/s3/memory.js';
import { s3IndexContract } from './index-contract.js';

s3IndexContract('in-memory', async () => new InMemoryS3Index());
