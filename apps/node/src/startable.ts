/**
 * The lifecycle of every daemon part that holds resources (timers, sockets, files, protocol
 * handlers): started once by the composition root after everything is built, stopped in reverse
 * order. Nothing else: no open/close, no start/close.
 */
export interface Startable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** Starts `parts` in order; if one fails, stops those already started (in reverse) and rethrows. */
export async function startAll(parts: readonly Startable[]): Promise<void> {
  const started: Startable[] = [];
  try {
    for (const part of parts) {
      await part.start();
      started.push(part);
    }
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

/** Stops `parts` in reverse order; every part is stopped even if an earlier stop fails. */
export async function stopAll(parts: readonly Startable[]): Promise<void> {
  let failure: unknown;
  for (const part of [...parts].reverse()) {
    try {
      await part.stop();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}
