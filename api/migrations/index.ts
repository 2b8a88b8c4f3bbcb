/**
 * The ordered list of migrations. A new one is a new numbered file added here (never edit an
 * applied one). Listed explicitly rather than globbed, so it works the same from .ts under tsx
 * and from the .js that tsc emits.
 */
import * as m0001 from './0001-users.js';
import * as m0002 from './0002-sessions.js';
import * as m0003 from './0003-videos.js';
import * as m0004 from './0004-account-security.js';
import * as m0005 from './0005-rate-limits.js';
import * as m0006 from './0006-catalog-notify.js';

export const migrations = [m0001, m0002, m0003, m0004, m0005, m0006];
