import { TrinityError } from '@trinity/core';

/** A region id that the topology does not know (neither built in nor configured). */
export class UnknownRegionError extends TrinityError {
  constructor(region: string, where = 'topology') {
    super('UNKNOWN_REGION', `unknown region ${JSON.stringify(region)} in ${where}`, { details: { region } });
  }
}

/** Custom regions or latency overrides that do not form one complete symmetric matrix. */
export class RegionConfigError extends TrinityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('REGION_CONFIG_INVALID', message, { details });
  }
}

/** A node description that cannot be used (duplicate id, bad reputation, unknown region...). */
export class InvalidNodeError extends TrinityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NODE_INVALID', message, { details });
  }
}

/** A node id the router does not hold. */
export class UnknownNodeError extends TrinityError {
  constructor(id: string) {
    super('UNKNOWN_NODE', `unknown node ${JSON.stringify(id)}`, { details: { id } });
  }
}

/** A bounded structure is full (router nodes, tracker peers, regions). */
export class TopologyLimitError extends TrinityError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('TOPOLOGY_LIMIT', message, { details });
  }
}

/** Why a stripe could not be placed. */
export type PlacementFailure =
  | 'no-nodes'
  | 'too-few-regions'
  | 'too-few-nodes'
  | 'latency-bound'
  | 'insufficient-capacity';

/**
 * The placement rules cannot be satisfied by the nodes given: `reason` says which rule, `details`
 * the numbers (shards, regions and nodes available).
 */
export class PlacementError extends TrinityError {
  readonly reason: PlacementFailure;

  constructor(reason: PlacementFailure, message: string, details: Record<string, unknown> = {}) {
    super('PLACEMENT_IMPOSSIBLE', message, { details: { reason, ...details } });
    this.reason = reason;
  }
}
