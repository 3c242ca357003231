/**
 * This machine's sensor as a child process: sysex/linux/build/netprov-sensor writes its session
 * stream to a pipe and `netprov record` records that stream like any other (every frame checked,
 * the file created 0600 by the recorder). The in-process node-addon-api bridge is not built; a
 * child process hands over the same bytes, and a sensor crash cannot take the recorder with it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { InputError } from './errors.js';
import { projectFile } from './project.js';

export const SENSOR_BUILD_STEPS = 'apt-get install clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev, then make -C sysex/linux';

export interface SensorOptions {
  interfaces: string[];
  durationSeconds?: number;
  snaplen?: number;
}

export interface RunningSensor {
  /** The session stream: signature, header, chunks and, once stopped, the trailer. */
  stream: Readable;
  /** Asks the sensor to finish: it drains its rings, writes the trailer and exits. */
  stop(): void;
  /** Settles once the sensor records (its programs loaded, its rings open), or rejects as `exited` does. */
  ready: Promise<void>;
  /** Settles when the sensor has exited; rejects with its own one-line error if it failed. */
  exited: Promise<void>;
}

export function startSensor(options: SensorOptions): RunningSensor {
  if (process.platform !== 'linux') throw new InputError(`record: no sensor for ${process.platform} in this version; record a served stream with --source unix:PATH`);
  const binary = projectFile('sysex/linux/build/netprov-sensor');
  if (!existsSync(binary)) throw new InputError(`record: the Linux sensor is not built (${binary}): ${SENSOR_BUILD_STEPS}`);
  const args = ['--output', '-'];
  for (const name of options.interfaces) args.push('--interface', name);
  if (options.durationSeconds !== undefined) args.push('--duration', String(options.durationSeconds));
  if (options.snaplen !== undefined) args.push('--snaplen', String(options.snaplen));
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let lastLine = '';
  let unread = '';
  let onReady = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    const lines = (unread + text).split('\n');
    unread = lines.pop()!;
    for (const line of lines) {
      lastLine = line.replace(/^netprov-sensor: /, '');
      if (lastLine.startsWith('recording ')) onReady();
    }
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new InputError(`record: cannot start ${binary} (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new InputError(`record: ${lastLine || `the sensor stopped (${signal ?? `exit ${code}`})`}`));
    });
  });
  return { stream: child.stdout, stop: () => child.kill('SIGINT'), ready: Promise.race([ready, exited]), exited };
}
