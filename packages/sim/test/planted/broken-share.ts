import { SharedApply } from '@trinity/economics';

type Step = ReturnType<SharedApply['_step']>;
type Ledger = Parameters<SharedApply['_step']>[0];

/**
 * A broken `SharedApply`: a result found by the event alone, whatever ledger it was applied to. A
 * node that took the event in another order (a late event, a restart) gets the ledger another node
 * made. The cross-check of shared against unshared runs must catch it (test/share-apply.test.ts).
 */
export class ParentBlindShare extends SharedApply {
  readonly #byEvent = new Map<Uint8Array, Step>();

  override _step(ledger: Ledger, bytes: Uint8Array, event?: Parameters<SharedApply['_step']>[2]): Step {
    const found = this.#byEvent.get(bytes);
    if (found !== undefined) return found;
    const step = super._step(ledger, bytes, event);
    this.#byEvent.set(bytes, step);
    return step;
  }
}
