// Types of the undici modules that shared/tallyfy/undici-pool.ts loads by path (undici ships
// types for its index only): they are the very classes and helpers the index exports.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}

declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export default Dispatcher;
}

declare module 'undici/lib/api/index.js' {
  import type { connect, pipeline, request, stream, upgrade } from 'undici';

  const api: {
    request: typeof request;
    stream: typeof stream;
    pipeline: typeof pipeline;
    upgrade: typeof upgrade;
    connect: typeof connect;
  };
  export default api;
}
