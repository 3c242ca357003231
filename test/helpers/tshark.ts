/** tshark as an independent reader of capture files. */
import { execFileSync } from 'node:child_process';

export interface TsharkFrame {
  /** "seconds.nanoseconds", nine digits, as tshark prints frame.time_epoch. */
  epoch: string;
  len: number;
  capLen: number;
}

export function tsharkFrames(file: string): TsharkFrame[] {
  const out = execFileSync('tshark', ['-n', '-r', file, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 30,
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [epoch, len, capLen] = line.split('\t');
      return { epoch, len: Number(len), capLen: Number(capLen) };
    });
}

/** Any tshark field, one array of values per frame; `options`: more tshark arguments (-o pref:value). */
export function tsharkFields(file: string, fields: string[], options: string[] = []): string[][] {
  const out = execFileSync('tshark', ['-n', '-r', file, ...options, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter(Boolean).map((line) => line.split('\t'));
}
