/** The platform's one backoff lives in common/backoff; the runtime imports it from here. */
export { backoffDelay, sleep } from '../../common/backoff/index.js';
