import './polyfill.js';

export { Devnet, type DevnetNode, type DevnetOptions, devnetRegions } from './cli/devnet.js';
export { type NodeConfig, type NodeConfigInput, nodeConfigSchema, parseNodeConfig } from './config/config.js';
export * from './errors.js';
export { TrinityNode, type TrinityNodeOptions } from './node/trinity-node.js';
export { PROTOCOLS } from './p2p/wire.js';
export type {
  ActionResult,
  EconomicsService,
  PosResultSink,
} from './services/economics/economics-service.js';
export type { ReadyFile } from './stores/ready-file.js';
