import { type Ed25519, ed25519, parseConfig } from '@trinity/core';
import { _decodeForApply } from './codec.js';
import { type EconomicsConfig, type EconomicsConfigInput, economicsConfigSchema } from './config.js';
import type { RejectionCode } from './errors.js';
import type { EconomicsEvent } from './events.js';
import { Ledger, type SharedNode } from './ledger.js';
import { ledgerHash } from './state-hash.js';
import { advance, applyToLedger } from './transition.js';

/** A ledger reached by one step, and the effect of the event that made it. */
interface Step {
  readonly ledger: Ledger;
  readonly rejection: RejectionCode | undefined;
}

/** What a `SharedApply` saved and did, for tests and diagnostics. */
export interface SharedApplyStats {
  /** Events applied to a ledger for real (each clones its parent first). */
  steps: number;
  /** Events whose result was found: another state had applied the same bytes to the same ledger. */
  stepsShared: number;
  /** Time-driven rules run for real (an `advanceTo` or re-execution with an escrow deadline or epoch end due). */
  advances: number;
  advancesShared: number;
  /** Events applied in place to a ledger only one state could see (a branch of its own). */
  stepsInPlace: number;
  /** Events decoded for real / found decoded. */
  decodes: number;
  decodesShared: number;
  /** Signatures checked for real / known checked (the same bytes object verified before). */
  verifications: number;
  verificationsShared: number;
  /** State hashes computed / found. */
  hashes: number;
  hashesShared: number;
  /** Ledgers dropped from the tree: no state held them and none could reach them (abandoned branches). */
  pruned: number;
}

/**
 * Work shared by the `EconomicsState`s of one process that apply the same events: a simulator
 * running hundreds of nodes, each with its own state. The fold is deterministic, so a state that
 * applies an event to a ledger another state already applied the same event to gets the same
 * result: here it takes that result (the ledger is shared, and never changed afterwards: the next
 * event makes a new ledger, a copy-on-write clone) instead of computing it again. A state whose
 * order differs (a late event, a restart) takes another branch and shares with whoever took the
 * same one.
 *
 * Ledgers are immutable once made here and found by (parent ledger, event bytes object): the same
 * `Uint8Array` object is the same event, so the bytes handed to the states must not be changed
 * afterwards (`EconomicsState` assumes that already: it keeps them). Bytes of one event in two
 * objects are two keys (the result is computed twice, still the same). The same bytes object is
 * also decoded once and its signature verified once.
 *
 * The ledgers stay in a tree from the genesis as long as this object, but for branches abandoned
 * (a state that re-executed after a late event leaves the ledgers it made without that event): a
 * ledger no state holds as its current one, with no ledger after it, is dropped, and so up its
 * branch. So for a bounded run (a simulation), not for a daemon: the tree's trunk grows with the
 * events. Every state using it has its config and signature implementation.
 */
export class SharedApply {
  readonly config: EconomicsConfig;
  readonly ed25519: Ed25519;
  /** @internal The genesis ledger every state starts from. */
  readonly _genesis: Ledger;
  readonly stats: SharedApplyStats = {
    steps: 0,
    stepsShared: 0,
    stepsInPlace: 0,
    advances: 0,
    advancesShared: 0,
    decodes: 0,
    decodesShared: 0,
    verifications: 0,
    verificationsShared: 0,
    hashes: 0,
    hashesShared: 0,
    pruned: 0,
  };
  /** @internal Whether the last `_step` made its ledger (false: found it). */
  _lastMade = false;
  readonly #decoded = new WeakMap<Uint8Array, EconomicsEvent>();
  readonly #verified = new WeakSet<Uint8Array>();

  /** `config` is parsed with `economicsConfigSchema` (throws `ConfigError`). */
  constructor(init: { readonly config?: EconomicsConfigInput; readonly ed25519?: Ed25519 } = {}) {
    this.config = parseConfig(economicsConfigSchema, init.config ?? {}, 'economics config');
    this.ed25519 = init.ed25519 ?? ed25519;
    this._genesis = new Ledger(this.config);
  }

  /** @internal `ledger` with the event of `bytes` applied (`decode`d only when no state did it before). */
  _step(ledger: Ledger, bytes: Uint8Array, event?: EconomicsEvent): Step {
    const node = nodeOf(ledger);
    const found = node.steps?.get(bytes) as Step | undefined;
    if (found !== undefined) {
      this.stats.stepsShared++;
      this._lastMade = false;
      return found;
    }
    this.stats.steps++;
    this._lastMade = true;
    const child = ledger.clone();
    const step: Step = { ledger: child, rejection: applyToLedger(child, event ?? this._decode(bytes)) };
    hang(ledger, 'steps', bytes, step, child);
    return step;
  }

  /**
   * @internal `_step` changing `ledger` in place, for a ledger only the calling state can see (it
   * made it in this same call, or it is its private current ledger and no snapshot): it leaves the
   * tree (nobody finds it under its old key any more) and is private from then on. A state on a
   * branch of its own (a restart's replay, a re-execution after a late event that others never
   * had) so pays an in-place apply per event, not a clone.
   */
  _stepInPlace(ledger: Ledger, bytes: Uint8Array, event?: EconomicsEvent): Step {
    this._privatize(ledger);
    // What was found from it (results, hashes) was of its old content.
    const node = ledger.shared!;
    node.steps = undefined;
    node.advances = undefined;
    node.hashes = undefined;
    this.stats.stepsInPlace++;
    return { ledger, rejection: applyToLedger(ledger, event ?? this._decode(bytes)) };
  }

  /**
   * @internal Takes `ledger` out of the tree: private to the one state that can see it (one it made
   * in this same call), which then changes it in place while it is its current ledger and no snapshot.
   */
  _privatize(ledger: Ledger): void {
    const node = nodeOf(ledger);
    const parent = node.parent;
    if (node.siblings !== undefined) {
      node.siblings.delete(node.key);
      node.siblings = undefined;
    }
    node.parent = undefined;
    node.private = true;
    // The branch that led to it may have nothing else on it.
    this.#prune(parent?.shared);
  }

  /** @internal Whether `ledger` is private to a state and held `holders` times (its current one, no snapshot). */
  _isPrivate(ledger: Ledger, holders: number): boolean {
    const node = ledger.shared;
    return node?.private === true && node.holders === holders;
  }

  /** @internal In the tree, held by one state only, nothing after it yet: nobody followed its maker. */
  _isLonely(ledger: Ledger): boolean {
    const node = ledger.shared;
    return (
      node !== undefined &&
      node.siblings !== undefined &&
      node.holders === 1 &&
      (node.steps?.size ?? 0) === 0 &&
      (node.advances?.size ?? 0) === 0
    );
  }

  /** @internal How many times states hold `ledger` (as their current one or a snapshot). */
  _holders(ledger: Ledger): number {
    return ledger.shared?.holders ?? 0;
  }

  /** @internal `ledger` with the time-driven rules run up to `timeMs` (`advance`). */
  _advance(ledger: Ledger, timeMs: number): Ledger {
    const node = nodeOf(ledger);
    const found = node.advances?.get(timeMs);
    if (found !== undefined) {
      this.stats.advancesShared++;
      return found;
    }
    this.stats.advances++;
    const child = ledger.clone();
    advance(child, timeMs);
    hang(ledger, 'advances', timeMs, child, child);
    return child;
  }

  /** @internal A state made `ledger` its current one. */
  _hold(ledger: Ledger): void {
    nodeOf(ledger).holders++;
  }

  /**
   * @internal A state left `ledger`: when no state holds it and nothing hangs after it, it is
   * dropped from the tree, and its parent in turn (only results nobody can reach are lost).
   */
  _release(ledger: Ledger): void {
    const node = nodeOf(ledger);
    node.holders--;
    this.#prune(node);
  }

  /** Drops `node` from the tree if no state holds it and nothing hangs after it, and so up its branch. */
  #prune(node: SharedNode | undefined): void {
    for (let at = node; at !== undefined && isLeaf(at); ) {
      if (at.siblings === undefined) break; // the genesis, or private
      at.siblings.delete(at.key);
      at.siblings = undefined;
      this.stats.pruned++;
      const parent: Ledger | undefined = at.parent;
      // Out of the tree, it must not keep its ancestors alive.
      at.parent = undefined;
      at = parent?.shared;
    }
  }

  /** @internal The event in `bytes`, decoded once per bytes object (throws as `_decodeForApply`). */
  _decode(bytes: Uint8Array): EconomicsEvent {
    const found = this.#decoded.get(bytes);
    if (found !== undefined) {
      this.stats.decodesShared++;
      return found;
    }
    this.stats.decodes++;
    const event = _decodeForApply(bytes);
    this.#decoded.set(bytes, event);
    return event;
  }

  /** @internal Whether the signature in `bytes` was verified (true) by a state of this object before. */
  _verified(bytes: Uint8Array): boolean {
    if (this.#verified.has(bytes)) {
      this.stats.verificationsShared++;
      return true;
    }
    return false;
  }

  /** @internal Records that the signature in `bytes` verified. */
  _markVerified(bytes: Uint8Array): void {
    this.stats.verifications++;
    this.#verified.add(bytes);
  }

  /** @internal `ledgerHash` of `ledger` as of `nowMs`, computed once per (ledger, nowMs). */
  _hash(ledger: Ledger, nowMs: number): string {
    const node = nodeOf(ledger);
    const found = node.hashes?.get(nowMs);
    if (found !== undefined) {
      this.stats.hashesShared++;
      return found;
    }
    this.stats.hashes++;
    const hash = ledgerHash(ledger, nowMs);
    node.hashes ??= new Map();
    node.hashes.set(nowMs, hash);
    return hash;
  }
}

function newNode(
  siblings?: Map<unknown, unknown>,
  key?: unknown,
  parent?: Ledger,
  isPrivate = false,
): SharedNode {
  return {
    holders: 0,
    steps: undefined,
    advances: undefined,
    hashes: undefined,
    siblings,
    key,
    parent,
    private: isPrivate,
  };
}

/**
 * Hangs `child` after `parent`, found as `value` under `key` in the parent's `kind` map (the
 * parent has its node). After a private parent the child is private too: nobody can reach a
 * private ledger, so nobody can reach what follows it.
 */
function hang(parent: Ledger, kind: 'steps' | 'advances', key: unknown, value: unknown, child: Ledger): void {
  const node = parent.shared!;
  if (node.private) {
    child.shared = newNode(undefined, undefined, undefined, true);
    return;
  }
  const siblings = (kind === 'steps' ? (node.steps ??= new Map()) : (node.advances ??= new Map())) as Map<
    unknown,
    unknown
  >;
  siblings.set(key, value);
  child.shared = newNode(siblings, key, parent);
}

/** The ledger's node (the genesis gets one the first time). */
function nodeOf(ledger: Ledger): SharedNode {
  ledger.shared ??= newNode();
  return ledger.shared;
}

/** No state holds it and no ledger hangs after it. */
function isLeaf(node: SharedNode): boolean {
  return node.holders <= 0 && (node.steps?.size ?? 0) === 0 && (node.advances?.size ?? 0) === 0;
}
