/**
 * The API contract (hisp/api): the only part of the HISP that the UI and the preload may
 * import. Everything here runs unchanged in Node and in a browser: zod and this folder only.
 */
export * from './contract.js';
export * from './errors.js';
export * from './limits.js';
export * from './wire.js';
export * from './transport.js';
export * from './client.js';
export * from './ui.js';
