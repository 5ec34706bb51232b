/** A request body that yields `chunks` chunks of `chunkBytes`, `gapMs` apart, then (optionally) stalls. */
export function trickle(
  data: Buffer,
  chunkBytes: number,
  gapMs: number,
  stallAfter = Number.POSITIVE_INFINITY,
) {
  let offset = 0;
  let sent = 0;
  let resume = () => {};
  const stalled = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= stallAfter) return stalled;
      if (sent > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (offset >= data.length) return controller.close();
      controller.enqueue(new Uint8Array(data.subarray(offset, offset + chunkBytes)));
      offset += chunkBytes;
      sent++;
    },
  });
  return { body, release: () => resume() };
}
