/**
 * Waits in `queue` until whoever serves it takes this caller's entry out and calls its grant, or
 * until `signal` aborts: then the entry leaves the queue (it is never granted in another's place),
 * `onLeave` runs (a waiter gone may let those behind it through) and the wait rejects with the
 * signal's reason. `entry` makes what is queued from the grant: the grant itself, or a record
 * carrying it beside what the queue's server needs (the bytes asked for, the kind of holder).
 */
export function waitInLine<E>(
  queue: E[],
  entry: (grant: () => void) => E,
  signal?: AbortSignal,
  onLeave?: () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      const index = queue.indexOf(queued);
      if (index >= 0) queue.splice(index, 1);
      onLeave?.();
      reject(signal!.reason);
    };
    const queued = entry(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    queue.push(queued);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
