// One recording at a time: the session stream (sysex/common's np_stream, thread-safe) the three
// sources emit into while a recorder is connected, and the backpressure rule. Every handler
// calls `admit()` before emitting: while the recorder is behind, events are counted instead of
// encoded and reported as one loss event once it catches up. A filter never waits on the
// recorder. Who owns the recording, which processes it has described and its final loss counts
// are sysex/common's np_recording, tested on Linux; this file only calls it.
import CNetprov
import Foundation
import os

final class Recording {
    static let shared = Recording()
    let state = SharedState()

    // os_unfair_lock must not move: allocated once, never a stored struct property.
    private let lock: UnsafeMutablePointer<os_unfair_lock> = {
        let lock = UnsafeMutablePointer<os_unfair_lock>.allocate(capacity: 1)
        lock.initialize(to: os_unfair_lock())
        return lock
    }()
    private var stream: OpaquePointer?
    private var outbox: Outbox?
    private var startNs: Int64 = 0
    private var snaplen = 262_144
    private var interfaceIds: [String: (id: UInt32, linkType: Int32)] = [:]
    private var openedFlows = Set<UUID>()
    private var skipped: UInt64 = 0
    private let core: OpaquePointer = np_recording_new(65_536)!
    /// The stream's counts as they stood at the stop: what the recorder's summary reads afterwards.
    private var finalCounts = np_stream_counts()

    private func locked<T>(_ body: () -> T) -> T {
        os_unfair_lock_lock(lock)
        defer { os_unfair_lock_unlock(lock) }
        return body()
    }

    /// Starts a session streamed to `outbox`, owned by the client `owner`; nil, or why not.
    func start(snaplen: Int, outbox: Outbox, owner: UInt64) -> String? {
        locked {
            guard np_recording_start(core, owner) == 0 else { return "another recorder is recording" }
            let context = Unmanaged.passUnretained(outbox).toOpaque()
            guard let newStream = np_stream_new(512 * 1024, Outbox.output, context) else {
                np_recording_stop(core, owner, nil)
                return "out of memory"
            }
            self.outbox = outbox
            self.snaplen = snaplen > 0 ? snaplen : 262_144
            startNs = Clock.realtimeNs()
            interfaceIds = [:]
            openedFlows = []
            skipped = 0
            stream = newStream
            np_stream_begin(newStream, "netprov-macos", "0.1.0", startNs,
                            "ES message time, packet and flow callback arrival: CLOCK_REALTIME - start_ns")
            outbox.counts = { [weak self] in self?.counts() ?? np_stream_counts() }
            emitLocked(Int32(NP_CLOCK_SYNC), 0, [.str("CLOCK_REALTIME"), .int64(startNs), .str("event times minus this value")])
            return nil
        }
    }

    /// Ends the session if `owner` started it (false: another client's, or none): the trailer goes
    /// out after every chunk, the counts are kept, then the stream is closed.
    @discardableResult
    func stop(owner: UInt64) -> Bool {
        locked {
            guard np_recording_stop(core, owner, nil) == 0, let stream else { return false }
            np_stream_end(stream, Clock.realtimeNs() - startNs)
            np_stream_get_counts(stream, &finalCounts)
            outbox?.finish()
            np_stream_free(stream)
            self.stream = nil
            outbox = nil
            return true
        }
    }

    /// True the first time this recording names the process: describe it now (a `process` event).
    func introduce(_ key: String) -> Bool { np_recording_introduce(core, key) == 1 }

    /// The process exited: a later one with its key is described afresh.
    func forget(_ key: String) { np_recording_forget(core, key) }

    /// Whether to record an event now; false while not recording or while the recorder is behind.
    func admit() -> Bool {
        locked {
            guard let stream, let outbox else { return false }
            if outbox.isBehind {
                skipped += 1
                return false
            }
            if skipped > 0 {
                np_recording_lost(core, NP_LOSS_WRITER, skipped)
                np_stream_loss(stream, Clock.realtimeNs() - startNs, "recorder", skipped, "the recorder fell behind: events not recorded")
                skipped = 0
            }
            return true
        }
    }

    func time(_ realtimeNs: Int64) -> Int64 { realtimeNs - startNs }

    func emit(_ kind: Int32, at realtimeNs: Int64, _ fields: [Field]) {
        locked { emitLocked(kind, realtimeNs - startNs, fields) }
    }

    private func emitLocked(_ kind: Int32, _ t: Int64, _ fields: [Field]) {
        guard let stream else { return }
        withFields(fields) { np_stream_event(stream, kind, t, $0, $1) }
    }

    func loss(at realtimeNs: Int64, source: String, count: UInt64, reason: String) {
        locked {
            guard let stream else { return }
            np_stream_loss(stream, realtimeNs - startNs, source, count, reason)
        }
    }

    /// A packet as the packet filter handed it; its interface is introduced the first time.
    func packet(at realtimeNs: Int64, interface: String, linkType: Int32, direction: Int32, bytes: UnsafeRawPointer, length: Int) {
        let processKey = state.processOfPacket(bytes, length: length, linkType: linkType)
        locked {
            guard let stream else { return }
            let t = realtimeNs - startNs
            let id: UInt32
            if let known = interfaceIds[interface] {
                id = known.id
            } else {
                id = UInt32(interfaceIds.count)
                interfaceIds[interface] = (id, linkType)
                emitLocked(Int32(NP_INTERFACE), t, [.int(Int64(id)), .str(interface), .int(Int64(linkType)), .int(Int64(snaplen))])
            }
            let captured = UInt32(min(length, snaplen))
            let raw = bytes.assumingMemoryBound(to: UInt8.self)
            if let processKey {
                processKey.withCString { np_stream_packet(stream, t, id, direction, UInt32(length), raw, captured, $0) }
            } else {
                np_stream_packet(stream, t, id, direction, UInt32(length), raw, captured, nil)
            }
        }
    }

    /// True the first time a flow is recorded (the content filter may see it again with endpoints filled).
    func firstTime(_ flow: UUID) -> Bool { locked { openedFlows.insert(flow).inserted } }

    /// The running stream's counts, or after a stop the final ones.
    func counts() -> np_stream_counts {
        locked {
            var counts = finalCounts
            if let stream { np_stream_get_counts(stream, &counts) }
            return counts
        }
    }
}
