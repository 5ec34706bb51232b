import './polyfill.js';

export { type NodeConfig, type NodeConfigInput, nodeConfigSchema, parseNodeConfig } from './config.js';
export { Devnet, type DevnetNode, type DevnetOptions, devnetRegions } from './devnet.js';
export * from './errors.js';
export { type ReadyFile, TrinityNode } from './node.js';
export { PROTOCOLS } from './wire.js';
