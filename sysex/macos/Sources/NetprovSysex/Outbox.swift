// Session pieces on their way to the recorder over XPC: a queue, at most `window` pieces sent
// and not yet acknowledged. `isBehind` is what Recording.admit() asks: when the queue is long,
// the handlers stop encoding (and count what they skip) instead of blocking or growing memory.
import CNetprov
import Foundation
import NetprovXPC

final class Outbox {
    private static let window = 8
    private static let behindAt = 64 // pieces queued: up to 32 MiB of 512 KiB chunks

    private let client: RecorderClient
    private let queue = DispatchQueue(label: "com.netprov.sysex.outbox")
    private var waiting: [Data] = [] // on `queue`
    private var inFlight = 0         // on `queue`
    private var finishing = false    // on `queue`
    private let queuedLock = NSLock()
    private var queued = 0           // under queuedLock: read from handler threads
    var counts: () -> np_stream_counts = { np_stream_counts() }

    init(client: RecorderClient) { self.client = client }

    var isBehind: Bool {
        queuedLock.lock()
        defer { queuedLock.unlock() }
        return queued >= Outbox.behindAt
    }

    /// np_stream's output: called under the stream's lock with one whole piece; copies and queues it.
    static let output: np_stream_output = { context, head, headLength, body, bodyLength in
        let outbox = Unmanaged<Outbox>.fromOpaque(context!).takeUnretainedValue()
        var piece = Data(bytes: head!, count: headLength)
        if bodyLength > 0 { piece.append(body!, count: bodyLength) }
        outbox.enqueue(piece)
        return 0
    }

    private func enqueue(_ piece: Data) {
        queuedLock.lock()
        queued += 1
        queuedLock.unlock()
        queue.async {
            self.waiting.append(piece)
            self.pump()
        }
    }

    /// After the trailer: tell the recorder once everything before it has been delivered.
    func finish() {
        queue.async {
            self.finishing = true
            self.pump()
        }
    }

    private func pump() {
        while inFlight < Outbox.window, !waiting.isEmpty {
            let piece = waiting.removeFirst()
            inFlight += 1
            let totals = counts()
            let byKind = withUnsafeBytes(of: totals.events) { Array($0.bindMemory(to: UInt64.self)) }.map { NSNumber(value: $0) }
            client.receive(piece: piece, eventsByKind: byKind, lost: totals.lost) {
                self.queue.async {
                    self.inFlight -= 1
                    self.queuedLock.lock()
                    self.queued -= 1
                    self.queuedLock.unlock()
                    self.pump()
                }
            }
        }
        if finishing, waiting.isEmpty, inFlight == 0 {
            finishing = false
            client.finished(error: nil)
        }
    }
}
