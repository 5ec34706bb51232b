import { TrinityError } from '@trinity/core';

/** Every `code` an error of @trinity/sim carries; stable across releases. */
export type SimErrorCode = 'SIM_LIMIT' | 'SIM_USAGE' | 'SIM_UNKNOWN_SCENARIO' | 'SIM_RPC';

/** The base of every error @trinity/sim throws on purpose; match on `code` or `name`. */
export class SimError<Code extends SimErrorCode = SimErrorCode> extends TrinityError<Code> {}

/** A bound of the simulation was reached: events, queued events, virtual time or nodes. */
export class SimLimitError extends SimError<'SIM_LIMIT'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('SIM_LIMIT', message, details === undefined ? {} : { details });
  }
}

/** A command line or option the simulator cannot act on. */
export class SimUsageError extends SimError<'SIM_USAGE'> {
  constructor(message: string) {
    super('SIM_USAGE', message);
  }
}

/** No scenario has this name. */
export class UnknownScenarioError extends SimError<'SIM_UNKNOWN_SCENARIO'> {
  constructor(name: string, known: readonly string[]) {
    super('SIM_UNKNOWN_SCENARIO', `unknown scenario ${JSON.stringify(name)}; known: ${known.join(', ')}`, {
      details: { name, known: [...known] },
    });
  }
}

/** A simulated call (`SimRpc`) that got no reply in time, or that its peer refused. */
export class SimRpcError extends SimError<'SIM_RPC'> {
  readonly kind: 'timeout' | 'refused';

  constructor(kind: 'timeout' | 'refused', message: string) {
    super('SIM_RPC', message, { details: { kind } });
    this.kind = kind;
  }
}
