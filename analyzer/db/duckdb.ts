/**
 * @duckdb/node-api, required rather than imported. It is CommonJS: an ESM `import` of it makes
 * Node parse every file it re-exports to find their names (cjs-module-lexer), 110 ms of each
 * command's start-up on this machine's kind (a CPU profile of `analyze` on an empty capture);
 * `require` reads the exports as they are. Imported only where DuckDB is needed, and late: see
 * database.ts.
 */
import { createRequire } from 'node:module';

export const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
