// NEFilterDataProvider: the one macOS source that knows which process owns a TCP/UDP flow.
// handleNewFlow records the flow with the creating process's audit token; flows whose endpoints
// are not known yet are peeked at (one byte each way) and recorded from the first data callback.
// Every verdict allows and sets shouldReport, so handle(_:) gets the close with bytes in/out.
import CNetprov
import Foundation
import NetworkExtension

final class ContentFilter: NEFilterDataProvider {
    private let recording = Recording.shared

    override func startFilter(completionHandler: @escaping (Error?) -> Void) { completionHandler(nil) }

    override func stopFilter(with reason: NEProviderStopReason, completionHandler: @escaping () -> Void) { completionHandler() }

    override func handleNewFlow(_ flow: NEFilterFlow) -> NEFilterNewFlowVerdict {
        let seen = Clock.realtimeNs()
        guard let socketFlow = flow as? NEFilterSocketFlow, recording.admit() else { return .allow() }
        let verdict: NEFilterNewFlowVerdict
        if let endpoints = Endpoints(socketFlow) {
            record(socketFlow, endpoints, at: seen)
            verdict = .allow()
        } else {
            verdict = .filterDataVerdict(withFilterInbound: true, peekInboundBytes: 1, filterOutbound: true, peekOutboundBytes: 1)
        }
        verdict.shouldReport = true
        return verdict
    }

    override func handleOutboundData(from flow: NEFilterFlow, readBytesStartOffset offset: Int, readBytes: Data) -> NEFilterDataVerdict {
        recordLate(flow)
    }

    override func handleInboundData(from flow: NEFilterFlow, readBytesStartOffset offset: Int, readBytes: Data) -> NEFilterDataVerdict {
        recordLate(flow)
    }

    override func handle(_ report: NEFilterReport) {
        guard report.event == .flowClosed, let flow = report.flow as? NEFilterSocketFlow, let endpoints = Endpoints(flow) ?? Endpoints(partial: flow) else { return }
        let key = processKey(flow)
        recording.emit(Int32(NP_FLOW_CLOSE), at: Clock.realtimeNs(), [.str(flow.identifier.uuidString), .str(key?.key)] + endpoints.fields +
            [.int(Int64(report.bytesInboundCount)), .int(Int64(report.bytesOutboundCount))])
        recording.state.flowClosed(id: flow.identifier.uuidString)
    }

    /// The first data of a flow whose endpoints were nil at handleNewFlow: they are filled by now.
    private func recordLate(_ flow: NEFilterFlow) -> NEFilterDataVerdict {
        if let socketFlow = flow as? NEFilterSocketFlow, let endpoints = Endpoints(socketFlow) ?? Endpoints(partial: socketFlow) {
            record(socketFlow, endpoints, at: Clock.realtimeNs())
        }
        let verdict = NEFilterDataVerdict.allow()
        verdict.shouldReport = true
        return verdict
    }

    private func record(_ flow: NEFilterSocketFlow, _ endpoints: Endpoints, at time: Int64) {
        guard recording.firstTime(flow.identifier) else { return }
        let key = processKey(flow)
        let id = flow.identifier.uuidString
        let direction: Int64 = flow.direction == .inbound ? 1 : flow.direction == .outbound ? 2 : 0
        recording.emit(Int32(NP_FLOW_OPEN), at: time, [.str(id), .str(key?.key)] + endpoints.fields +
            [.int(direction), .int(6 /* contentFilter */), .str(flow.remoteHostname)])
        if let key { recording.state.flowOpened(id: id, processKey: key.key, tuple: endpoints.tuple) }
        // A system process opening the connection for an app (sourceProcessAuditToken differs
        // from sourceAppAuditToken): the session format has no field for the app yet, so a mark.
        if let app = ProcessKey(tokenData: flow.sourceAppAuditToken), let key, app.key != key.key {
            recording.emit(Int32(NP_MARK), at: time, [.str("flow \(id) opened by \(key.key) on behalf of \(app.key)")])
        }
    }

    /// The process that created the flow: sourceProcessAuditToken (macOS 13) where the system
    /// gives it, else the source app's token.
    private func processKey(_ flow: NEFilterFlow) -> ProcessKey? {
        if #available(macOS 13.0, *), let key = ProcessKey(tokenData: flow.sourceProcessAuditToken) { return key }
        return ProcessKey(tokenData: flow.sourceAppAuditToken)
    }
}

/// A socket flow's protocol and endpoints, as SocketTuple fields (events.ts) and as the shared table's tuple.
struct Endpoints {
    let proto: Int64
    let localAddr: String
    let localPort: Int64
    let remoteAddr: String
    let remotePort: Int64

    /// Complete endpoints only (nil while either side is still unknown).
    init?(_ flow: NEFilterSocketFlow) {
        guard let local = flow.localEndpoint as? NWHostEndpoint, let remote = flow.remoteEndpoint as? NWHostEndpoint,
              let localPort = Int64(local.port), localPort != 0, let remotePort = Int64(remote.port) else { return nil }
        self.init(proto: Int64(flow.socketProtocol), localAddr: local.hostname, localPort: localPort, remoteAddr: remote.hostname, remotePort: remotePort)
    }

    /// Whatever is known, unknown parts empty: for a flow that ends before both sides are.
    init?(partial flow: NEFilterSocketFlow) {
        let local = flow.localEndpoint as? NWHostEndpoint
        let remote = flow.remoteEndpoint as? NWHostEndpoint
        guard local != nil || remote != nil else { return nil }
        self.init(proto: Int64(flow.socketProtocol), localAddr: local?.hostname ?? "", localPort: Int64(local?.port ?? "") ?? 0,
                  remoteAddr: remote?.hostname ?? "", remotePort: Int64(remote?.port ?? "") ?? 0)
    }

    private init(proto: Int64, localAddr: String, localPort: Int64, remoteAddr: String, remotePort: Int64) {
        (self.proto, self.localAddr, self.localPort, self.remoteAddr, self.remotePort) = (proto, localAddr, localPort, remoteAddr, remotePort)
    }

    var fields: [Field] { [.int(proto), .str(localAddr), .int(localPort), .str(remoteAddr), .int(remotePort)] }
    var tuple: np_tuple { np_tuple_make(UInt8(truncatingIfNeeded: proto), localAddr, UInt16(truncatingIfNeeded: localPort), remoteAddr, UInt16(truncatingIfNeeded: remotePort)) }
}
