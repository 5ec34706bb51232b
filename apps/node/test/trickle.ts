/**
 * A request body that yields `data` in chunks of `chunkBytes`, `gapMs` apart, after sending its
 * first `options.fastBytes` at once; with `options.stallAfter` it stalls after that many chunks until
 * `release()`.
 */
export function trickle(
  data: Buffer,
  chunkBytes: number,
  gapMs: number,
  options: { stallAfter?: number; fastBytes?: number } = {},
) {
  const stallAfter = options.stallAfter ?? Number.POSITIVE_INFINITY;
  let offset = 0;
  let sent = 0;
  let resume = () => {};
  const stalled = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= stallAfter) return stalled;
      if (offset >= (options.fastBytes ?? 0) && sent > 0)
        await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (offset >= data.length) return controller.close();
      controller.enqueue(new Uint8Array(data.subarray(offset, offset + chunkBytes)));
      offset += chunkBytes;
      sent++;
    },
  });
  return { body, release: () => resume() };
}
