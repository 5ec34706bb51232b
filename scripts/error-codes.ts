/**
 * What the packages' error-code type tests share: the `code` type of every error class a package
 * exports, so a test can check that its literal union is exactly those codes.
 */

/**
 * The `code` types of every class in `Api` (a module namespace, `typeof import('../src/index.js')`)
 * but `Base`; other exports give never. A class whose code is plain `string` (a bare TrinityError)
 * makes the result `string`, so an equality check against a literal union fails on it.
 */
export type ExportedErrorCodes<Api, Base extends keyof Api> = {
  [K in Exclude<keyof Api, Base>]: Api[K] extends abstract new (
    ...args: never[]
  ) => infer E
    ? E extends Error & { readonly code: infer Code }
      ? Code
      : never
    : never;
}[Exclude<keyof Api, Base>];
