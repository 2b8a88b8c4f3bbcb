export * from './constants.js';
export * from './types.js';
export * from './keys.js';
export * from './ladder.js';
export * from './transcoder-contract.js';
export * from './predicates.js';
export * from './status-message.js';
export * from './media-files.js';
