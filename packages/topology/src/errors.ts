import { TrinityError } from '@trinity/core';

/** Every `code` an error of @trinity/topology carries; stable across releases. */
export type TopologyErrorCode =
  | 'UNKNOWN_REGION'
  | 'REGION_CONFIG_INVALID'
  | 'NODE_INVALID'
  | 'UNKNOWN_NODE'
  | 'TOPOLOGY_LIMIT'
  | 'PLACEMENT_IMPOSSIBLE';

/** The base of every error @trinity/topology throws on purpose; match on `code` or `name`. */
export class TopologyError<Code extends TopologyErrorCode = TopologyErrorCode> extends TrinityError<Code> {}

/** A region id that the topology does not know (neither built in nor configured). */
export class UnknownRegionError extends TopologyError<'UNKNOWN_REGION'> {
  constructor(region: string, where = 'topology') {
    super('UNKNOWN_REGION', `unknown region ${JSON.stringify(region)} in ${where}`, { details: { region } });
  }
}

/** Custom regions or latency overrides that do not form one complete symmetric matrix. */
export class RegionConfigError extends TopologyError<'REGION_CONFIG_INVALID'> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('REGION_CONFIG_INVALID', message, { details });
  }
}

/** A node description that cannot be used (duplicate id, bad reputation, unknown region...). */
export class InvalidNodeError extends TopologyError<'NODE_INVALID'> {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NODE_INVALID', message, { details });
  }
}

/** A node id the router does not hold. */
export class UnknownNodeError extends TopologyError<'UNKNOWN_NODE'> {
  constructor(id: string) {
    super('UNKNOWN_NODE', `unknown node ${JSON.stringify(id)}`, { details: { id } });
  }
}

/** A bounded structure is full (router nodes, tracker peers, regions). */
export class TopologyLimitError extends TopologyError<'TOPOLOGY_LIMIT'> {
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
export class PlacementError extends TopologyError<'PLACEMENT_IMPOSSIBLE'> {
  readonly reason: PlacementFailure;

  constructor(reason: PlacementFailure, message: string, details: Record<string, unknown> = {}) {
    super('PLACEMENT_IMPOSSIBLE', message, { details: { reason, ...details } });
    this.reason = reason;
  }
}
