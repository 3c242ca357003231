/**
 * The analyzer's native addon (binding.gyp: the pcap decoder and the connection tracker in C),
 * or null where `npm install` could not build it (analyzer/native/build.js): the analyzer then
 * does everything in TypeScript, with the same results, more slowly.
 */
import { createRequire } from 'node:module';
import { projectFile } from '../../recorder/project.js';

const ADDON = 'analyzer/native/build/Release/netprov_decoder.node';

function load(): Record<string, unknown> | null {
  try {
    return createRequire(import.meta.url)(projectFile(ADDON)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export const nativeAddon = load();
