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
    private var interfaceIds: [String: UInt32] = [:]
    private var skipped: UInt64 = 0
    /// Sources that are not running, and why (Endpoint Security while es_new_client fails): each
    /// recording starts with a mark for each, and gets one whenever a source goes down or up.
    private var sourcesDown: [String: String] = [:]
    private var runningChanged: (Bool) -> Void = { _ in }
    private let announcements = DispatchQueue(label: "com.netprov.sysex.running")
    private let core: OpaquePointer = np_recording_new(65_536)!
    /// The stream's counts as they stood at the stop: what the recorder's summary reads afterwards.
    private var finalCounts = np_stream_counts()

    private func locked<T>(_ body: () -> T) -> T {
        os_unfair_lock_lock(lock)
        defer { os_unfair_lock_unlock(lock) }
        return body()
    }

    /// Starts a session streamed to `outbox`, owned by the client `owner`; nil, or why not. The
    /// processes already running are described right after, from a snapshot.
    func start(snaplen: Int, outbox: Outbox, owner: UInt64) -> String? {
        let refused: String? = locked {
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
            skipped = 0
            stream = newStream
            np_stream_begin(newStream, "netprov-macos", "0.1.0", startNs,
                            "ES message time, packet and flow callback arrival: CLOCK_REALTIME - start_ns")
            outbox.counts = { [weak self] in self?.counts() ?? np_stream_counts() }
            emitLocked(Int32(NP_CLOCK_SYNC), 0, [.str("CLOCK_REALTIME"), .int64(startNs), .str("event times minus this value")])
            for (source, why) in sourcesDown.sorted(by: { $0.key < $1.key }) { emitLocked(Int32(NP_MARK), 0, [.str("\(source) not running: \(why)")]) }
            return nil
        }
        guard refused == nil else { return refused }
        announce(running: true)
        DispatchQueue.global(qos: .utility).async { self.describeRunningProcesses() }
        return nil
    }

    /// The snapshot Endpoint Security does not give: every process running as the recording
    /// begins, described once (those ES describes first are skipped by introduce()).
    private func describeRunningProcesses() {
        var described = 0
        for pid in ProcessFacts.runningPids() {
            guard let token = ProcessFacts.auditToken(pid: pid) else { continue }
            let key = ProcessKey(token: token)
            if !state.isKnown(key) { state.processStarted(key, path: nil, signingId: nil) }
            described += describe(key, token: nil, at: Clock.realtimeNs()) ? 1 : 0
        }
        emit(Int32(NP_MARK), at: Clock.realtimeNs(), [.str("snapshot: \(described) running processes described")])
    }

    /// Emits a `process` event for `key` the first time this recording names it; true if it did.
    @discardableResult
    func describe(_ key: ProcessKey, token: Data?, at realtimeNs: Int64) -> Bool {
        guard introduce(key.key) else { return false }
        emit(Int32(NP_PROCESS), at: realtimeNs, ProcessFacts.image(key, token: token))
        return true
    }

    /// `handler` learns now, and at every start and stop, whether a recording runs (on one queue, in order).
    func whenRunningChanges(_ handler: @escaping (Bool) -> Void) {
        let running = locked { () -> Bool in
            runningChanged = handler
            return stream != nil
        }
        announcements.async { handler(running) }
    }

    private func announce(running: Bool) {
        let handler = locked { runningChanged }
        announcements.async { handler(running) }
    }

    /// A source stopped or failed to start: said in the running recording, and at the start of each next one until it is back.
    func sourceDown(_ source: String, _ why: String) {
        locked {
            sourcesDown[source] = why
            emitLocked(Int32(NP_MARK), Clock.realtimeNs() - startNs, [.str("\(source) not running: \(why)")])
        }
    }

    func sourceUp(_ source: String) {
        locked {
            guard sourcesDown.removeValue(forKey: source) != nil else { return }
            emitLocked(Int32(NP_MARK), Clock.realtimeNs() - startNs, [.str("\(source) running")])
        }
    }

    /// Ends the session if `owner` started it (false: another client's, or none): the trailer goes
    /// out after every chunk, the counts are kept, then the stream is closed.
    @discardableResult
    func stop(owner: UInt64) -> Bool {
        let stopped: Bool = locked {
            guard np_recording_stop(core, owner, nil) == 0, let stream else { return false }
            np_stream_end(stream, Clock.realtimeNs() - startNs)
            np_stream_get_counts(stream, &finalCounts)
            outbox?.finish()
            np_stream_free(stream)
            self.stream = nil
            outbox = nil
            return true
        }
        if stopped { announce(running: false) }
        return stopped
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
                id = known
            } else {
                id = UInt32(interfaceIds.count)
                interfaceIds[interface] = id
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

    /// The running stream's counts, or after a stop the final ones.
    func counts() -> np_stream_counts {
        locked {
            var counts = finalCounts
            if let stream { np_stream_get_counts(stream, &counts) }
            return counts
        }
    }
}
