/**
 * The load a command line asks for, begun before yargs and the commands have loaded (~0.17 s of
 * the main thread, measured: yargs alone ~0.11 s): `netprov analyze capture.pcap ...` reads its
 * first packet while the rest of the program is still loading. The guess is only ever a head
 * start: the command, once parsed, takes the load only if it wants exactly that input with the
 * default options (load-threads.ts compares them), and any other guess is stopped. Guessing reads
 * nothing but the heads of files the command line names, as the command itself would.
 */
import { startDecoderEarly } from './decode-thread.js';
import type { LoadInput } from './inputs.js';

/** The commands that load their inputs, and how many words come before those inputs. */
const WORDS_BEFORE_INPUTS: Record<string, number> = { analyze: 0, flows: 0, report: 0, export: 0, query: 1, sql: 1 };

/**
 * Options that change what is loaded or how: with any of them the guess would be wrong, so none
 * is made. (Everything after the first option is left to yargs anyway.)
 */
const CHANGES_THE_LOAD = /^--(no-)?(salvage|verify-checksums|save|help|version)(=|$)/;

/**
 * Begins the load `args` asks for, if it can be told without parsing them; else at least its
 * decoding thread, which boots first either way (the rest of this file's modules load meanwhile).
 * Returns the input begun, or null.
 */
export async function beginLoadEarly(args: string[]): Promise<LoadInput | null> {
  const skip = WORDS_BEFORE_INPUTS[args[0]];
  if (skip === undefined) return null;
  startDecoderEarly();
  const words = args.slice(1 + skip);
  const end = words.findIndex((word) => word.startsWith('-'));
  const paths = end < 0 ? words : words.slice(0, end);
  if (paths.length === 0 || args.some((word) => CHANGES_THE_LOAD.test(word))) return null;
  const [{ classifyInputs }, { startLoadEarly }] = await Promise.all([import('./inputs.js'), import('./load-threads.js')]);
  const input = firstInput(paths, classifyInputs);
  if (input) startLoadEarly(input);
  return input;
}

function firstInput(paths: string[], classifyInputs: (paths: string[]) => LoadInput[]): LoadInput | null {
  try {
    return classifyInputs(paths)[0];
  } catch {
    // Not inputs after all (or unreadable ones): the command will say so itself.
    return null;
  }
}
