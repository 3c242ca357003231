/**
 * All of `data` at the file's position. One write(2) may take less than it was given — on a disk
 * about to fill, the part that fits — and report no error: an export that ignored the count
 * ended short of its last rows, exit 0 (test/cli/environment.test.ts). Its own module: worker
 * threads (the session writer's, the tracker's Parquet files) import it without the rest of
 * output-file.ts.
 */
import { writeSync } from 'node:fs';

export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}
