/**
 * This machine's sensor, in-process: recorder/native (a node-addon-api addon) runs it on its own
 * thread — the Linux sensor of sysex/linux, or the macOS system extension through its client tool — and hands
 * over its session stream piece by piece; `netprov record` records that stream like any other
 * (every frame checked, the file created 0600 by the recorder).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { InputError } from './errors.js';
import { projectFile } from './project.js';
import { kindNameOf, type KindName } from './session/events.js';

const ADDON = 'recorder/native/build/Release/netprov_sensor.node';

export interface SensorOptions {
  interfaces: string[];
  durationSeconds?: number;
  snaplen?: number;
}

export interface SensorCounts {
  /** Events handed over so far, by kind. */
  events: Partial<Record<KindName, number>>;
  /** Events the sensor could not keep (its rings full). */
  lost: number;
  /** Bytes of session stream handed over. */
  bytes: number;
}

export interface RunningSensor {
  /** The session stream: signature, header, chunks and, once stopped, the trailer. */
  stream: Readable;
  /** Asks the sensor to finish: it drains its rings, writes the trailer and ends the stream. */
  stop(): void;
  /** Settles once the sensor records (its programs loaded, its rings open), or rejects as `exited` does. */
  ready: Promise<void>;
  /** Settles when the sensor has finished; rejects with its one-line reason if it could not run. */
  exited: Promise<void>;
  /** Running totals, read from the sensor without waiting for it. */
  counts(): SensorCounts;
}

/** The addon's interface (recorder/native/src/addon.cc). */
interface NativeSensor {
  stop(): void;
  /** Holds the sensor thread before its next piece (its kernel rings absorb what comes meanwhile). */
  pause(): void;
  resume(): void;
  counts(): { eventsByKind: number[]; lost: number; bytes: number };
}
type Listener = (type: 'ready' | 'data' | 'end', value?: Buffer | string | null) => void;
interface Addon {
  Sensor: new (options: SensorOptions, listener: Listener) => NativeSensor;
}

function loadAddon(): Addon {
  if (process.platform !== 'linux' && process.platform !== 'darwin') {
    throw new InputError(`record: no sensor for ${process.platform}; record a served stream with --source unix:PATH`);
  }
  const path = projectFile(ADDON);
  // The same words npm install's build step prints (recorder/native/build.js).
  const howTo = (JSON.parse(readFileSync(projectFile('recorder/native/build-steps.json'), 'utf8')) as Record<string, string>)[process.platform];
  const steps = process.platform === 'darwin' ? `${howTo}, and the system extension activated (sysex/macos/README.md)` : howTo;
  if (!existsSync(path)) throw new InputError(`record: the sensor is not built (${path}): ${steps}`);
  return createRequire(import.meta.url)(path) as Addon;
}

export function startSensor(options: SensorOptions): RunningSensor {
  const { Sensor } = loadAddon();
  // Pieces wait here only up to the high-water mark: past it the sensor thread is paused until
  // the recorder reads again, so a slow disk never makes memory grow. (read() runs only once
  // someone reads, after `running` exists.)
  const stream = new Readable({ highWaterMark: 16 * 2 ** 20, read: () => running.resume() });
  let onReady = () => {};
  let onExit: (error: Error | null) => void = () => {};
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const exited = new Promise<void>((resolve, reject) => (onExit = (error) => (error ? reject(error) : resolve())));
  const running = new Sensor(options, (type, value) => {
    if (type === 'ready') onReady();
    else if (type === 'data') {
      if (!stream.push(value as Buffer)) running.pause();
    } else {
      stream.push(null);
      onExit(value ? new InputError(`record: ${value as string}`) : null);
    }
  });
  const counts = (): SensorCounts => {
    const raw = running.counts();
    const events: Partial<Record<KindName, number>> = {};
    raw.eventsByKind.forEach((count, code) => {
      const name = kindNameOf(code);
      if (name && count) events[name] = count;
    });
    return { events, lost: raw.lost, bytes: raw.bytes };
  };
  return { stream, stop: () => running.stop(), ready: Promise.race([ready, exited]), exited, counts };
}
