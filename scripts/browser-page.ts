/**
 * The page side of the packages' browser tests (see browser-test.ts): runs the test's `main` and
 * publishes its result, or its error, where `Chromium.run` looks for it. Bundled into the page, so it
 * imports nothing.
 */
export function publishPageResult(main: () => Promise<unknown>): void {
  const target = globalThis as { pageResult?: unknown; pageError?: string };
  main().then(
    (result) => {
      target.pageResult = result;
    },
    (error: unknown) => {
      target.pageError =
        error instanceof Error ? `${error.name}: ${error.message}\n${error.stack}` : String(error);
    },
  );
}
