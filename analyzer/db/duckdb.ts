/**
 * @duckdb/node-api, imported only where DuckDB is needed, and late: see database.ts. It is
 * CommonJS of ~60 files: the bundle netprov runs from (bin/build-bundle.js) holds it as one
 * module. (tsc's unbundled modules, which the tests and the fuzzer load, pay Node's parse of
 * every file it re-exports for their names: ~0.1 s, once per process.)
 */
import * as duckdbApi from '@duckdb/node-api';

export const duckdb = duckdbApi;
