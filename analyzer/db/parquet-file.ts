/**
 * A Parquet file written one row group at a time: each column chunk is one PLAIN, uncompressed
 * data page, so a row group costs a page header per column and one writev. Required numeric
 * columns go straight from typed arrays (`rowGroup`: the packet rows); columns that hold NULLs
 * and text come already encoded (`encodedRowGroup`, from parquet-rows.ts: flows and DNS rows).
 * DuckDB reads it in parallel (read_parquet), with no ingest of its own.
 *
 * Written because the one JavaScript writer, hyparquet-writer, encodes value by value: 6.1 s for
 * 2,000,000 rows of 20 columns here, where DuckDB's own appender took 1.4 s and this 0.1 s. The
 * format is apache/parquet-format's parquet.thrift, in Thrift's compact protocol; only what
 * these columns need is here (definition levels but no repetition, no dictionaries, compression
 * or statistics).
 */
import { closeSync, constants, openSync, writevSync } from 'node:fs';
import { writeAll } from '../../recorder/write-all.js';
import type { NumericArray, StagedKind } from './staged.js';

const MAGIC = Buffer.from('PAR1', 'latin1');

/** parquet.thrift enums. */
const PhysicalType = { BOOLEAN: 0, INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const ConvertedType = { UTF8: 0, UINT_8: 11, UINT_32: 13, INT_16: 16 } as const;
const REQUIRED = 0;
const OPTIONAL = 1;
const DATA_PAGE = 0;
const PLAIN = 0;
const RLE = 3;
const UNCOMPRESSED = 0;

/** The DuckDB types a column can have here. */
export type ColumnType = StagedKind['type'] | 'VARCHAR' | 'BOOLEAN';

/**
 * How each type is stored: Parquet has 32- and 64-bit integers, narrower ones are annotated;
 * text is UTF-8 byte arrays. `bytes`: a value's size in a typed array (`rowGroup`), or 0.
 */
const storage: Record<ColumnType, { physical: number; converted: number | null; bytes: number }> = {
  BIGINT: { physical: PhysicalType.INT64, converted: null, bytes: 8 },
  INTEGER: { physical: PhysicalType.INT32, converted: null, bytes: 4 },
  UINTEGER: { physical: PhysicalType.INT32, converted: ConvertedType.UINT_32, bytes: 4 },
  SMALLINT: { physical: PhysicalType.INT32, converted: ConvertedType.INT_16, bytes: 4 },
  UTINYINT: { physical: PhysicalType.INT32, converted: ConvertedType.UINT_8, bytes: 4 },
  DOUBLE: { physical: PhysicalType.DOUBLE, converted: null, bytes: 8 },
  VARCHAR: { physical: PhysicalType.BYTE_ARRAY, converted: ConvertedType.UTF8, bytes: 0 },
  BOOLEAN: { physical: PhysicalType.BOOLEAN, converted: null, bytes: 0 },
};

/** A column: its name, its type, and whether it may hold NULLs (then each page carries definition levels). */
export interface ParquetColumn {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

/**
 * One column's data page body for `encodedRowGroup`: for a nullable column, its definition
 * levels (RLE/bit-packed, with their 4-byte length) then the PLAIN values of the rows not NULL.
 */
export type EncodedColumn = Uint8Array[];

interface ChunkPlace {
  dataPageOffset: number;
  size: number;
}

export class ParquetFile {
  private readonly fd: number;
  private offset = 0;
  private rows = 0;
  private closed = false;
  private readonly rowGroups: { rows: number; chunks: ChunkPlace[] }[] = [];
  /** Where 8- and 16-bit columns are widened to Parquet's 32 bits. */
  private readonly widened: Int32Array[];

  /** Creates `path` (0600, never through a link, never over a file) for `columns`, in order. */
  constructor(
    readonly path: string,
    private readonly columns: ParquetColumn[],
  ) {
    this.widened = columns.map(() => new Int32Array(0));
    this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    this.write([MAGIC]);
  }

  /** Writes the first `count` rows of `arrays` (one per column, in order; required numeric columns) as a row group. */
  rowGroup(arrays: NumericArray[], count: number): void {
    this.encodedRowGroup(arrays.map((array, c) => [this.plainValues(c, array, count)]), count);
  }

  /** Writes `count` rows as a row group, each column's page body already encoded (EncodedColumn). */
  encodedRowGroup(columns: EncodedColumn[], count: number): void {
    if (count === 0) return;
    const parts: Uint8Array[] = [];
    const chunks: ChunkPlace[] = [];
    let at = this.offset;
    for (const body of columns) {
      const size = body.reduce((sum, piece) => sum + piece.byteLength, 0);
      const header = pageHeader(count, size);
      parts.push(header, ...body);
      chunks.push({ dataPageOffset: at, size: header.byteLength + size });
      at += header.byteLength + size;
    }
    this.write(parts);
    this.rowGroups.push({ rows: count, chunks });
    this.rows += count;
  }

  /** Writes the footer and closes the file. */
  close(): void {
    const footer = this.fileMetaData();
    const length = Buffer.alloc(4);
    length.writeUInt32LE(footer.byteLength);
    this.write([footer, length, MAGIC]);
    this.closed = true;
    closeSync(this.fd);
  }

  /** Closes the file, if still open, without a footer (a failed load: the file is removed with its folder). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** A column's values as PLAIN wants them: its own bytes, or widened to 32 bits. */
  private plainValues(c: number, array: NumericArray, count: number): Uint8Array {
    if (array.BYTES_PER_ELEMENT === storage[this.columns[c].type].bytes) {
      return new Uint8Array(array.buffer, array.byteOffset, count * array.BYTES_PER_ELEMENT);
    }
    if (this.widened[c].length < count) this.widened[c] = new Int32Array(count);
    const wide = this.widened[c];
    for (let i = 0; i < count; i++) wide[i] = array[i] as number;
    return new Uint8Array(wide.buffer, 0, count * 4);
  }

  private write(parts: Uint8Array[]): void {
    let total = 0;
    for (const p of parts) total += p.byteLength;
    const written = writevSync(this.fd, parts);
    // A short write continues from where it stopped.
    if (written < total) writeAll(this.fd, Buffer.concat(parts).subarray(written));
    this.offset += total;
  }

  /** FileMetaData: the schema, every row group's column chunks, and the row count. */
  private fileMetaData(): Uint8Array {
    const w = new CompactWriter();
    w.i32(1, 1); // version
    w.list(2, CompactType.STRUCT, this.columns.length + 1, (i) => {
      if (i === 0) {
        w.binary(4, 'schema');
        w.i32(5, this.columns.length);
      } else {
        const { name, type, nullable } = this.columns[i - 1];
        const s = storage[type];
        w.i32(1, s.physical);
        w.i32(3, nullable ? OPTIONAL : REQUIRED);
        w.binary(4, name);
        if (s.converted !== null) w.i32(6, s.converted);
      }
    });
    w.i64(3, this.rows);
    w.list(4, CompactType.STRUCT, this.rowGroups.length, (g) => {
      const group = this.rowGroups[g];
      const bytes = group.chunks.reduce((sum, c) => sum + c.size, 0);
      w.list(1, CompactType.STRUCT, group.chunks.length, (c) => {
        const chunk = group.chunks[c];
        const { name, type, nullable } = this.columns[c];
        w.i64(2, chunk.dataPageOffset); // file_offset
        w.struct(3, () => {
          w.i32(1, storage[type].physical);
          const encodings = nullable ? [PLAIN, RLE] : [PLAIN];
          w.list(2, CompactType.I32, encodings.length, (e) => w.element32(encodings[e]));
          w.list(3, CompactType.BINARY, 1, () => w.elementBinary(name));
          w.i32(4, UNCOMPRESSED);
          w.i64(5, group.rows);
          w.i64(6, chunk.size);
          w.i64(7, chunk.size);
          w.i64(9, chunk.dataPageOffset);
        });
      });
      w.i64(2, bytes); // total_byte_size
      w.i64(3, group.rows);
      w.i64(5, group.chunks[0].dataPageOffset); // file_offset
      w.i64(6, bytes); // total_compressed_size
    });
    w.binary(6, 'netprov');
    return w.done();
  }
}

/** A PageHeader for one PLAIN data page of `count` values (NULLs included), `size` bytes; levels, where any, are RLE. */
function pageHeader(count: number, size: number): Uint8Array {
  const w = new CompactWriter();
  w.i32(1, DATA_PAGE);
  w.i32(2, size);
  w.i32(3, size);
  w.struct(5, () => {
    w.i32(1, count);
    w.i32(2, PLAIN);
    w.i32(3, RLE);
    w.i32(4, RLE);
  });
  return w.done();
}

const CompactType = { I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;

/**
 * Thrift's compact protocol, the part a struct of integers, strings, lists and structs needs:
 * field headers carry the id as a delta from the previous field's, integers are zigzag varints.
 */
class CompactWriter {
  private bytes: number[] = [];
  private lastField = [0];

  i32(id: number, value: number): void {
    this.field(id, CompactType.I32);
    this.varint(zigzag(value));
  }

  i64(id: number, value: number): void {
    this.field(id, CompactType.I64);
    this.varint(zigzag(value));
  }

  binary(id: number, text: string): void {
    this.field(id, CompactType.BINARY);
    this.elementBinary(text);
  }

  struct(id: number, body: () => void): void {
    this.field(id, CompactType.STRUCT);
    this.structBody(body);
  }

  /** A list of `size` elements of `type`; `element(i)` writes each (a struct's fields, for structs). */
  list(id: number, type: number, size: number, element: (i: number) => void): void {
    this.field(id, CompactType.LIST);
    if (size < 15) this.bytes.push((size << 4) | type);
    else {
      this.bytes.push(0xf0 | type);
      this.varint(size);
    }
    for (let i = 0; i < size; i++) {
      if (type === CompactType.STRUCT) this.structBody(() => element(i));
      else element(i);
    }
  }

  element32(value: number): void {
    this.varint(zigzag(value));
  }

  elementBinary(text: string): void {
    const utf8 = Buffer.from(text, 'utf8');
    this.varint(utf8.length);
    for (const b of utf8) this.bytes.push(b);
  }

  /** The top-level struct, ended. */
  done(): Uint8Array {
    this.bytes.push(0); // STOP
    return Uint8Array.from(this.bytes);
  }

  private structBody(body: () => void): void {
    this.lastField.push(0);
    body();
    this.bytes.push(0); // STOP
    this.lastField.pop();
  }

  private field(id: number, type: number): void {
    const delta = id - this.lastField[this.lastField.length - 1];
    if (delta > 0 && delta <= 15) this.bytes.push((delta << 4) | type);
    else {
      this.bytes.push(type);
      this.varint(zigzag(id));
    }
    this.lastField[this.lastField.length - 1] = id;
  }

  /** An unsigned varint of a non-negative safe integer (offsets pass 2^32). */
  private varint(value: number): void {
    while (value >= 0x80) {
      this.bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.bytes.push(value);
  }
}

/** Zigzag of a safe integer, as a non-negative number (no 32-bit wrap: offsets are 64-bit). */
const zigzag = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);
