/**
 * Rows with text and NULLs — a load's flows and DNS messages, made on the tracking thread — as
 * numbered Parquet parts of a table (parquet-file.ts), each handed on once closed. Rows come one
 * by one, or column by column: as arrays of values, or already in Parquet's PLAIN layout (the
 * native tracker's flows: PlainColumn), which goes to the file as it is. DuckDB reads
 * them with no ingest of its own: in memory the flows and dns tables are views over their parts,
 * a database file copies each part in while the load goes on (staged-parts.ts).
 *
 * Written because the rows went before as CSV text into DuckDB tables (read_csv, INSERT), which
 * cost ~10 µs a flow row on this machine, most of it after the last packet: skipping it took
 * the 2,000,000-packet benchmark's analysis from 4.6-5.1 s to 3.7-4.0 s.
 */
import { join } from 'node:path';
import { ParquetFile, type ColumnType, type EncodedColumn } from './parquet-file.js';
import type { TableColumn } from './table-columns.js';

/** Rows per row group: one data page per column each. */
const GROUP_ROWS = 2_048;
/** Rows per part: a database file copies in each part with one INSERT, a fixed cost of its own. */
const PART_ROWS = 65_536;

/**
 * How a table's column is stored: as its own type, but lists as their JSON text (one level of
 * nesting, NULL or not, without Parquet's repetition levels), which the reader turns back.
 */
export function storedType(type: string): ColumnType {
  return type.endsWith('[]') ? 'VARCHAR' : (type as ColumnType);
}

/**
 * A column of rows already in Parquet's PLAIN layout: the values that are not NULL, one after
 * another (numbers little-endian, each text after its length in 4 bytes), and a bit per row
 * (least significant first), 1 where the row has a value.
 */
export interface PlainColumn {
  values: Uint8Array;
  present: Uint8Array;
}

/** A column of `count` copies of one text. */
export function repeatedText(text: string, count: number): PlainColumn {
  const one = Buffer.from(`\0\0\0\0${text}`, 'utf8');
  one.writeUInt32LE(one.length - 4);
  return { values: Buffer.alloc(one.length * count, one), present: new Uint8Array(Math.ceil(count / 8)).fill(255) };
}

/** A column of `count` NULLs. */
export const nullColumn = (count: number): PlainColumn => ({ values: new Uint8Array(0), present: new Uint8Array(Math.ceil(count / 8)) });

/** The rows of one table as parts `table-N.parquet` in `dir`, in the table's column order. */
export class ParquetParts {
  private part: ParquetRows | null = null;
  private parts = 0;
  rows = 0;

  constructor(
    private readonly dir: string,
    private readonly table: string,
    private readonly columns: TableColumn[],
    private readonly onPart: (table: string, path: string) => void,
  ) {}

  /** One row: a value per column, null for NULL, an array for a list. */
  row(values: readonly unknown[]): void {
    this.part ??= this.newPart();
    this.part.row(values);
    this.rows++;
    if (this.part.rows === PART_ROWS) this.endPart();
  }

  /** `count` rows given column by column (row i: each column's value i), as `row` takes them. */
  rowsFromColumns(columns: readonly ArrayLike<unknown>[], count: number): void {
    for (let from = 0; from < count; ) {
      this.part ??= this.newPart();
      const take = Math.min(count - from, PART_ROWS - this.part.rows);
      this.part.rowsFromColumns(columns, from, take);
      this.rows += take;
      from += take;
      if (this.part.rows === PART_ROWS) this.endPart();
    }
  }

  /**
   * `count` rows as one row group, each column in PLAIN layout already or as an array of values
   * as `row` takes them.
   */
  plainRows(columns: readonly (PlainColumn | readonly unknown[])[], count: number): void {
    this.part ??= this.newPart();
    this.part.plainRows(columns, count);
    this.rows += count;
    if (this.part.rows >= PART_ROWS) this.endPart();
  }

  private newPart(): ParquetRows {
    return new ParquetRows(join(this.dir, `${this.table}-${++this.parts}.parquet`), this.columns);
  }

  close(): void {
    this.endPart();
  }

  private endPart(): void {
    if (!this.part) return;
    this.part.close();
    this.onPart(this.table, this.part.path);
    this.part = null;
  }
}

/** One Parquet file of rows, every column nullable, written a row group at a time. */
export class ParquetRows {
  private readonly file: ParquetFile;
  private readonly types: ColumnType[];
  /** The row group being gathered, column by column (encoded at its end). */
  private pending: unknown[][];
  private pendingRows = 0;
  rows = 0;

  constructor(
    readonly path: string,
    columns: TableColumn[],
  ) {
    this.types = columns.map((c) => storedType(c.type));
    this.file = new ParquetFile(path, columns.map((c, i) => ({ name: c.name, type: this.types[i], nullable: true })));
    this.pending = this.types.map(() => []);
  }

  /** One row: a value per column (null or undefined for NULL). */
  row(values: readonly unknown[]): void {
    const pending = this.pending;
    for (let c = 0; c < pending.length; c++) pending[c].push(values[c]);
    this.rows++;
    if (++this.pendingRows === GROUP_ROWS) this.flush();
  }

  /** Rows [from, from + count) of `columns`, one array-like per column. */
  rowsFromColumns(columns: readonly ArrayLike<unknown>[], from: number, count: number): void {
    while (count > 0) {
      const take = Math.min(count, GROUP_ROWS - this.pendingRows);
      for (let c = 0; c < this.pending.length; c++) {
        const into = this.pending[c];
        const column = columns[c];
        for (let i = from; i < from + take; i++) into.push(column[i]);
      }
      this.rows += take;
      this.pendingRows += take;
      from += take;
      count -= take;
      if (this.pendingRows === GROUP_ROWS) this.flush();
    }
  }

  /** `count` rows as a row group of their own (after the rows gathered so far): see ParquetParts.plainRows. */
  plainRows(columns: readonly (PlainColumn | readonly unknown[])[], count: number): void {
    this.flush();
    const encoded = columns.map((column, c): EncodedColumn => {
      if (!('present' in column)) return encodedColumn(this.types[c], column);
      return [presentLevels(column.present, count), column.values];
    });
    this.file.encodedRowGroup(encoded, count);
    this.rows += count;
  }

  close(): void {
    this.flush();
    this.file.close();
  }

  private flush(): void {
    const columns = this.pending;
    this.file.encodedRowGroup(this.types.map((type, c) => encodedColumn(type, columns[c])), this.pendingRows);
    this.pending = this.types.map(() => []);
    this.pendingRows = 0;
  }
}

/** A column of values (null or undefined for NULL) as its data page body: definition levels, then the values. */
const encodedColumn = (type: ColumnType, column: readonly unknown[]): EncodedColumn => [definitionLevels(column), plainValues(type, present(column))];

/** A column's values but the NULLs. */
function present(column: readonly unknown[]): unknown[] {
  const values: unknown[] = [];
  for (const value of column) if (value != null) values.push(value);
  return values;
}

/**
 * One bit per row, 1 where the column has a value, as one bit-packed run of the RLE/bit-packing
 * hybrid (its header: the number of 8-row groups, shifted left, with the low bit set), after the
 * run's length in 4 bytes.
 */
function definitionLevels(column: readonly unknown[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(column.length / 8));
  for (let i = 0; i < column.length; i++) if (column[i] != null) bits[i >> 3] |= 1 << (i & 7);
  return presentLevels(bits, column.length);
}

/** Definition levels (as definitionLevels) from a bit per row already packed. */
function presentLevels(bits: Uint8Array, count: number): Uint8Array {
  const groups = Math.ceil(count / 8);
  if (bits.length < groups) throw new Error(`ParquetRows: ${bits.length} bytes of presence bits for ${count} rows`);
  const header = varint(groups * 2 + 1);
  const levels = Buffer.alloc(4 + header.length + groups);
  levels.writeUInt32LE(header.length + groups, 0);
  levels.set(header, 4);
  levels.set(bits.subarray(0, groups), 4 + header.length);
  return levels;
}

function plainValues(type: ColumnType, values: unknown[]): Uint8Array {
  switch (type) {
    case 'VARCHAR':
      return plainText(values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))));
    case 'BIGINT': {
      const out = Buffer.alloc(values.length * 8);
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number | bigint;
        if (typeof v === 'bigint') out.writeBigInt64LE(v, i * 8);
        else {
          // A safe integer as two 32-bit halves: no bigint per value.
          const high = Math.floor(v / 2 ** 32);
          out.writeUInt32LE(v - high * 2 ** 32, i * 8);
          out.writeInt32LE(high, i * 8 + 4);
        }
      }
      return out;
    }
    case 'INTEGER':
      return new Uint8Array(Int32Array.from(values as number[]).buffer);
    case 'DOUBLE':
      return new Uint8Array(Float64Array.from(values as number[]).buffer);
    case 'BOOLEAN': {
      const out = Buffer.alloc(Math.ceil(values.length / 8));
      for (let i = 0; i < values.length; i++) if (values[i]) out[i >> 3] |= 1 << (i & 7);
      return out;
    }
    default:
      throw new Error(`ParquetRows: ${type} columns are not written`);
  }
}

/** The 4-byte little-endian length before a text, as latin1 characters (one per byte), for lengths under 256. */
const SHORT_LENGTHS = Array.from({ length: 256 }, (_, n) => String.fromCharCode(n, 0, 0, 0));

/**
 * Each text as its UTF-8 length in 4 bytes, then its bytes. Texts that are all ASCII (nearly
 * always: addresses, uids, names as Zeek escapes them) are one string of latin1 characters, a
 * byte each, encoded at once: a Buffer write per text cost ~0.3 s of the tracking thread at
 * 2,000,000 packets.
 */
function plainText(texts: string[]): Uint8Array {
  const all = texts.join('');
  if (Buffer.byteLength(all, 'utf8') === all.length) {
    const pieces: string[] = new Array(texts.length * 2);
    for (let i = 0; i < texts.length; i++) {
      const n = texts[i].length;
      pieces[2 * i] = n < 256 ? SHORT_LENGTHS[n] : String.fromCharCode(n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24);
      pieces[2 * i + 1] = texts[i];
    }
    return Buffer.from(pieces.join(''), 'latin1');
  }
  const out = Buffer.allocUnsafe(texts.length * 4 + all.length * 3);
  let at = 0;
  for (const text of texts) {
    const length = out.write(text, at + 4, 'utf8');
    out.writeUInt32LE(length, at);
    at += 4 + length;
  }
  return out.subarray(0, at);
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 0x80)) bytes.push((value % 0x80) | 0x80);
  bytes.push(value);
  return Uint8Array.from(bytes);
}
