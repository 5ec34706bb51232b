// The daemon is not written yet. See README.md.
export {};
