/**
 * Zeek's conn.log as its test suite keeps it: a full log with `#fields`, or the few columns a
 * btest cut out with zeek-cut (its first non-comment line names them).
 */
import { readFileSync } from 'node:fs';

export type ZeekRow = Record<string, string>;

export function readZeekLog(path: string): { fields: string[]; rows: ZeekRow[] } {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('###'));
  const declared = lines.find((l) => l.startsWith('#fields'));
  const fields = declared ? declared.split('\t').slice(1) : lines[0].split('\t');
  const data = declared ? lines.filter((l) => !l.startsWith('#')) : lines.slice(1);
  return { fields, rows: data.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i], v]))) };
}
