/** The entries of `o` that are not undefined: options given as `{ x: undefined }` keep their defaults. */
export const defined = (o: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
