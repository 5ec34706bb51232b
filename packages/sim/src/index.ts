export { type DiskConfig, type DiskStats, defaultDiskConfig, SimDisk } from './disk.js';
export { SimError, type SimErrorCode, SimLimitError, SimUsageError, UnknownScenarioError } from './errors.js';
export {
  defaultNetworkConfig,
  type NetworkConfig,
  type NetworkStats,
  SimNetwork,
  type SimNetworkInit,
} from './network.js';
export { SimRandom } from './random.js';
export {
  EVENT_KINDS_MAX,
  type EventHandler,
  type RunEnd,
  Scheduler,
  type SchedulerLimits,
} from './scheduler.js';
export { TraceHash } from './trace-hash.js';
