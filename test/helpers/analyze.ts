import { join } from 'node:path';
import { analyze } from '../../analyzer/analyze.js';
import type { LoadOptions } from '../../analyzer/load/loader.js';
import { query } from '../../analyzer/db/database.js';
import { flowRecords, zeekText, ZEEK_FIELDS } from '../../analyzer/output/conn-log.js';
import { importFiles } from '../../recorder/import/index.js';
import { scratch } from './paths.js';

/** Imports a capture, analyses it in memory, and returns each flow as conn.log text fields. */
export async function analyzeToRows(capture: string, options: LoadOptions = {}): Promise<Record<string, string>[]> {
  const session = join(scratch(), 'capture.npsession');
  importFiles([capture], session);
  const { db } = await analyze([session], { db: null, ...options });
  try {
    const records = await flowRecords(db);
    return records.map((r) => Object.fromEntries([...ZEEK_FIELDS, 'community_id', 'orig_l2_addr', 'resp_l2_addr'].map((f) => [f, zeekText(r[f])])));
  } finally {
    db.close();
  }
}

/** Imports a capture, analyses it in memory, and returns the packets view in capture order. */
export async function analyzePackets(capture: string): Promise<Record<string, unknown>[]> {
  const session = join(scratch(), 'capture.npsession');
  importFiles([capture], session);
  const { db } = await analyze([session], { db: null });
  try {
    return await query(db, 'SELECT * FROM packets ORDER BY packet_no');
  } finally {
    db.close();
  }
}
