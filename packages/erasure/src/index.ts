// Not written yet: this package exports nothing so far. See README.md.
export {};
