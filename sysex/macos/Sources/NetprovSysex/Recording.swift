// One recording at a time: the session stream (sysex/common's np_stream, thread-safe) the three
// sources emit into while a recorder is connected, and the backpressure rule. Every handler
// calls `admit()` first: while the recorder is behind, events are counted instead of encoded
// and reported as one loss event once it catches up. A filter never waits on the recorder.
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

    private func locked<T>(_ body: () -> T) -> T {
        os_unfair_lock_lock(lock)
        defer { os_unfair_lock_unlock(lock) }
        return body()
    }

    /// Starts a session streamed to `outbox`; nil, or why not.
    func start(snaplen: Int, outbox: Outbox) -> String? {
        locked {
            guard stream == nil else { return "a recorder is already recording" }
            let context = Unmanaged.passUnretained(outbox).toOpaque()
            guard let newStream = np_stream_new(512 * 1024, Outbox.output, context) else { return "out of memory" }
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
            emitLocked(Int32(NP_CLOCK_SYNC), 0, [.str("CLOCK_REALTIME"), .int(startNs), .str("event times minus this value")])
            return nil
        }
    }

    /// Ends the session: the trailer goes out after every chunk, then the stream is closed.
    func stop() {
        locked {
            guard let stream else { return }
            np_stream_end(stream, Clock.realtimeNs() - startNs)
            outbox?.finish()
            np_stream_free(stream)
            self.stream = nil
            outbox = nil
        }
    }

    /// Whether to record an event now; false while not recording or while the recorder is behind.
    func admit() -> Bool {
        locked {
            guard let stream, let outbox else { return false }
            if outbox.isBehind {
                skipped += 1
                return false
            }
            if skipped > 0 {
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

    func counts() -> np_stream_counts {
        locked {
            var counts = np_stream_counts()
            if let stream { np_stream_get_counts(stream, &counts) }
            return counts
        }
    }
}
