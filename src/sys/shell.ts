/** One shell word, single-quoted, for the scripts and command lines the engine writes. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
