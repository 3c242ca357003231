/**
 * Row-at-a-time DuckDB appending with each column's append call chosen once from the table's
 * own types. Measured here: row-wise appends beat DuckDBDataChunkWriter with JS conversion
 * (1M rows × 5 columns: 0.63 s against 0.89 s), see README "Speed".
 */
import type { DuckDBAppender, DuckDBConnection } from '@duckdb/node-api';
import { UnfitValue } from '../../recorder/errors.js';
import { tableColumns } from './table-columns.js';
import { duckdb } from './duckdb.js';

const { LIST, VARCHAR, INTEGER, listValue } = duckdb;

type Append = (appender: DuckDBAppender, value: any) => void;

const byTypeId: Record<number, Append> = {
  1: (a, v) => a.appendBoolean(v),
  2: (a, v) => a.appendTinyInt(v),
  3: (a, v) => a.appendSmallInt(v),
  4: (a, v) => a.appendInteger(v),
  5: (a, v) => a.appendBigInt(typeof v === 'bigint' ? v : BigInt(v)),
  9: (a, v) => a.appendUBigInt(typeof v === 'bigint' ? v : BigInt(v)),
  11: (a, v) => a.appendDouble(v),
  16: (a, v) => a.appendHugeInt(typeof v === 'bigint' ? v : BigInt(v)),
  17: (a, v) => a.appendVarchar(v),
};

export class RowAppender {
  private readonly appends: Append[];
  private readonly columns: string[] = [];
  rows = 0;

  private constructor(
    private readonly appender: DuckDBAppender,
    private readonly table: string,
  ) {
    this.appends = [];
    for (let i = 0; i < appender.columnCount; i++) {
      const type = appender.columnType(i);
      const id = type.typeId as number;
      if (id === 24) {
        const child = (type as any).valueType.typeId === 17 ? VARCHAR : INTEGER;
        const listType = LIST(child);
        this.appends.push((a, v) => a.appendList(listValue(v), listType));
      } else {
        const append = byTypeId[id];
        if (!append) throw new Error(`RowAppender: column ${i} has a type it does not append (${type.toString()})`);
        this.appends.push(append);
      }
    }
  }

  static async create(connection: DuckDBConnection, table: string): Promise<RowAppender> {
    const appender = new RowAppender(await connection.createAppender(table), table);
    // From schema.sql, which every table opened here matches (openDatabase refuses older files): asking DuckDB cost a query per appender.
    appender.columns.push(...tableColumns(table).map((c) => c.name));
    return appender;
  }

  /**
   * One row, values in the table's column order; null appends NULL. A value a session holds that
   * the column cannot (a port of 2^40, a TTL past 2^31 in a hostile file) is the input's fault:
   * one line naming the table, the column and the value.
   */
  row(values: readonly unknown[]): void {
    const a = this.appender;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) a.appendNull();
      else {
        try {
          this.appends[i](a, v);
        } catch (err) {
          throw new UnfitValue(`a session value does not fit ${this.table}.${this.columns[i] ?? i} (${String(v).slice(0, 60)}: ${(err as Error).message})`);
        }
      }
    }
    a.endRow();
    this.rows++;
  }

  close(): void {
    this.appender.closeSync();
  }
}
