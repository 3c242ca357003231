/**
 * The analyzer's native addon (binding.gyp: the pcap decoder and the connection tracker in C),
 * or null where `npm install` could not build it (analyzer/native/build.js): the analyzer then
 * does everything in TypeScript, with the same results, more slowly.
 */
import { optionalAddon } from '../../recorder/project.js';

export const nativeAddon = optionalAddon<Record<string, unknown>>('analyzer/native/build/Release/netprov_decoder.node');
