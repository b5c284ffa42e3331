/**
 * undici's `Pool`, without the rest of undici. `import { Pool } from 'undici'` runs undici's
 * index, which also loads fetch, WebSocket, EventSource, the HTTP caches, the mocks and every
 * interceptor: about 235 KiB more in each Lambda bundle, all of it initialised at every cold
 * start, where the client needs one `Pool` and `Dispatcher#request`.
 *
 * undici documents no narrower entry, and its package has no `exports` map, so the modules
 * below resolve like any file of the package. They are internal, hence the exact version pin in
 * package.json and test/unit/tallyfy/undici-pool.test.ts, which fails when they stop being the
 * very `Pool` and `request` that `undici` exports.
 */
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Pool from 'undici/lib/dispatcher/pool.js';

// what undici's index does before it exports anything: the promise helpers (`request`,
// `stream`…) live on Dispatcher.prototype
Object.assign(Dispatcher.prototype, api);

export { Pool };
