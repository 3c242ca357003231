/**
 * Column kinds of the numeric columns passed between the loading threads, and of packet_rows
 * (written as Parquet, parquet-file.ts): each a typed array and the DuckDB type it becomes.
 * Nothing here loads DuckDB: the decoding workers fill these arrays and never need it.
 */
export const Staged = {
  i64: { type: 'BIGINT', array: BigInt64Array },
  f64: { type: 'DOUBLE', array: Float64Array },
  i32: { type: 'INTEGER', array: Int32Array },
  u32: { type: 'UINTEGER', array: Uint32Array },
  i16: { type: 'SMALLINT', array: Int16Array },
  u8: { type: 'UTINYINT', array: Uint8Array },
} as const;
export type StagedKind = (typeof Staged)[keyof typeof Staged];
export type NumericArray = BigInt64Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint8Array;
