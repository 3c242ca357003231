/**
 * `netprov verify`: re-analyse every session in a folder and compare with the expected JSON
 * beside it (`NAME.npsession` -> `NAME.expected.json`), so CI notices any change in analysis.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeOutputFile } from '../recorder/output-file.js';
import { join } from 'node:path';
import { InputError } from '../recorder/errors.js';
import { analysisJson, analyze } from './analyze.js';

export interface VerifyOutcome {
  session: string;
  status: 'same' | 'different' | 'missing' | 'updated';
  /** For `different`: the first differing lines, expected then actual. */
  diff: string[];
}

export async function verifyFixtures(dir: string, update: boolean): Promise<VerifyOutcome[]> {
  if (!existsSync(dir)) throw new InputError(`${dir}: no such folder`);
  const sessions = readdirSync(dir).filter((f) => f.endsWith('.npsession')).sort();
  if (sessions.length === 0) throw new InputError(`${dir}: no .npsession files to verify`);
  const outcomes: VerifyOutcome[] = [];
  for (const name of sessions) {
    const session = join(dir, name);
    const expectedPath = join(dir, name.replace(/\.npsession$/, '.expected.json'));
    const { db } = await analyze([session], { db: null });
    let actual: string;
    try {
      actual = await analysisJson(db);
    } finally {
      db.close();
    }
    if (update) {
      writeOutputFile(expectedPath, actual, { inputs: [session], force: true });
      outcomes.push({ session, status: 'updated', diff: [] });
    } else if (!existsSync(expectedPath)) {
      outcomes.push({ session, status: 'missing', diff: [`no ${expectedPath}: run netprov verify --update after review`] });
    } else {
      const expected = readFileSync(expectedPath, 'utf8');
      outcomes.push({ session, status: expected === actual ? 'same' : 'different', diff: expected === actual ? [] : firstDifferences(expected, actual) });
    }
  }
  return outcomes;
}

/** The first differing lines with two lines of context, `-` expected and `+` actual. */
export function firstDifferences(expected: string, actual: string, limit = 8): string[] {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const out = [`first difference at line ${i + 1}:`];
  for (let k = Math.max(0, i - 2); k < i; k++) out.push(`  ${a[k]}`);
  for (let k = i; k < Math.min(a.length, i + limit); k++) out.push(`- ${a[k]}`);
  for (let k = i; k < Math.min(b.length, i + limit); k++) out.push(`+ ${b[k]}`);
  return out;
}
