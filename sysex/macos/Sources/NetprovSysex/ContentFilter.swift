// NEFilterDataProvider: the one macOS source that knows which process owns a TCP/UDP flow.
// handleNewFlow records the flow with the creating process's audit token; flows whose endpoints
// are not known yet are peeked at (one byte each way) and recorded from the first data callback.
// Every verdict allows and sets shouldReport, so handle(_:) gets the close with bytes in/out.
// The shared table holds every flow from its first sighting to its close report, recording or
// not: it is what names a packet's process, what says a flow was recorded already, and what
// names the process of a close report (which carries no audit token).
import CNetprov
import Foundation
import Network
import NetworkExtension

final class ContentFilter: NEFilterDataProvider {
    private let recording = Recording.shared

    /// Loopback flows reach a content filter only through rules that name loopback networks; the
    /// default action covers every other flow.
    override func startFilter(completionHandler: @escaping (Error?) -> Void) {
        let loopback = [("127.0.0.0", 8), ("::1", 128)].map { network, prefix in
            NEFilterRule(networkRule: NENetworkRule(remoteNetwork: NWHostEndpoint(hostname: network, port: "0"), remotePrefix: prefix,
                                                    localNetwork: nil, localPrefix: 0, protocol: .any, direction: .any),
                         action: .filterData)
        }
        apply(NEFilterSettings(rules: loopback, defaultAction: .filterData)) { error in
            if let error { NSLog("netprov sysex: loopback filter rules not applied: %@", error.localizedDescription) }
            completionHandler(nil) // without the rules the filter still sees every other flow
        }
    }

    override func stopFilter(with reason: NEProviderStopReason, completionHandler: @escaping () -> Void) { completionHandler() }

    override func handleNewFlow(_ flow: NEFilterFlow) -> NEFilterNewFlowVerdict {
        let seen = Clock.realtimeNs()
        guard let socketFlow = flow as? NEFilterSocketFlow else { return .allow() }
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

    /// The close, keyed by the flow's identifier: the report's flow has no audit token, the table
    /// has the process and the endpoints as they were recorded.
    override func handle(_ report: NEFilterReport) {
        guard report.event == .flowClosed, let flow = report.flow else { return }
        let id = flow.identifier.uuidString
        let opened = recording.state.flowClosed(id: id)
        let socketFlow = flow as? NEFilterSocketFlow
        guard let endpoints = opened.map({ Endpoints(tuple: $0.tuple) }) ?? socketFlow.flatMap({ Endpoints($0) ?? Endpoints(partial: $0) }),
              recording.admit() else { return }
        recording.emit(Int32(NP_FLOW_CLOSE), at: Clock.realtimeNs(), [.str(id), .str(opened?.processKey)] + endpoints.fields +
            [.int(Int64(report.bytesInboundCount)), .int(Int64(report.bytesOutboundCount))])
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
        let (processToken, process) = creator(flow)
        let id = flow.identifier.uuidString
        guard recording.state.flowOpened(id: id, processKey: process?.key, tuple: endpoints.tuple), recording.admit() else { return }
        // A process first seen here (alive before the recording, or started while Endpoint
        // Security was not running) is described before its flow.
        if let process { recording.describe(process, token: processToken, at: time) }
        let direction: Int64 = flow.direction == .inbound ? 1 : flow.direction == .outbound ? 2 : 0
        recording.emit(Int32(NP_FLOW_OPEN), at: time, [.str(id), .str(process?.key)] + endpoints.fields +
            [.int(direction), .int(6 /* contentFilter */), .str(flow.remoteHostname)])
        // A system process opening the connection for an app (sourceProcessAuditToken differs
        // from sourceAppAuditToken): the session format has no field for the app yet, so a mark.
        if let app = ProcessKey(tokenData: flow.sourceAppAuditToken), let process, app.key != process.key {
            recording.describe(app, token: flow.sourceAppAuditToken, at: time)
            recording.emit(Int32(NP_MARK), at: time, [.str("flow \(id) opened by \(process.key) on behalf of \(app.key)")])
        }
    }

    /// The process that created the flow, and its token: sourceProcessAuditToken where the system
    /// gives it, else the source app's.
    private func creator(_ flow: NEFilterFlow) -> (Data?, ProcessKey?) {
        if let key = ProcessKey(tokenData: flow.sourceProcessAuditToken) { return (flow.sourceProcessAuditToken, key) }
        return (flow.sourceAppAuditToken, ProcessKey(tokenData: flow.sourceAppAuditToken))
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
        guard let local = Endpoints.hostAndPort(flow, remote: false), let remote = Endpoints.hostAndPort(flow, remote: true),
              local.port != 0 else { return nil }
        self.init(proto: Int64(flow.socketProtocol), localAddr: local.host, localPort: local.port, remoteAddr: remote.host, remotePort: remote.port)
    }

    /// Whatever is known, unknown parts empty: for a flow that ends before both sides are.
    init?(partial flow: NEFilterSocketFlow) {
        let local = Endpoints.hostAndPort(flow, remote: false)
        let remote = Endpoints.hostAndPort(flow, remote: true)
        guard local != nil || remote != nil else { return nil }
        self.init(proto: Int64(flow.socketProtocol), localAddr: local?.host ?? "", localPort: local?.port ?? 0,
                  remoteAddr: remote?.host ?? "", remotePort: remote?.port ?? 0)
    }

    /// As the shared table holds them.
    init(tuple: np_tuple) {
        var copy = tuple
        let local = withUnsafeBytes(of: &copy.local_addr) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let remote = withUnsafeBytes(of: &copy.remote_addr) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        self.init(proto: Int64(tuple.protocol), localAddr: local, localPort: Int64(tuple.local_port), remoteAddr: remote, remotePort: Int64(tuple.remote_port))
    }

    private init(proto: Int64, localAddr: String, localPort: Int64, remoteAddr: String, remotePort: Int64) {
        (self.proto, self.localAddr, self.localPort, self.remoteAddr, self.remotePort) = (proto, localAddr, localPort, remoteAddr, remotePort)
    }

    /// One side of the flow: localFlowEndpoint/remoteFlowEndpoint (Network framework) from macOS
    /// 15, where the NWHostEndpoint properties are deprecated; those before.
    private static func hostAndPort(_ flow: NEFilterSocketFlow, remote: Bool) -> (host: String, port: Int64)? {
        if #available(macOS 15.0, *) {
            guard case .hostPort(let host, let port)? = remote ? flow.remoteFlowEndpoint : flow.localFlowEndpoint else { return nil }
            return (address(host), Int64(port.rawValue))
        }
        guard let endpoint = (remote ? flow.remoteEndpoint : flow.localEndpoint) as? NWHostEndpoint, let port = Int64(endpoint.port) else { return nil }
        return (endpoint.hostname, port)
    }

    /// The address as text, without a scope suffix ("fe80::1%en0" -> "fe80::1"), as np_packet_tuple writes it.
    private static func address(_ host: NWEndpoint.Host) -> String {
        switch host {
        case .ipv4(let address): return text(address.rawValue, family: AF_INET)
        case .ipv6(let address): return text(address.rawValue, family: AF_INET6)
        case .name(let name, _): return name
        @unknown default: return "\(host)"
        }
    }

    private static func text(_ raw: Data, family: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        raw.withUnsafeBytes { _ = inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(cString: buffer)
    }

    var fields: [Field] { [.int(proto), .str(localAddr), .int(localPort), .str(remoteAddr), .int(remotePort)] }
    var tuple: np_tuple { np_tuple_make(UInt8(truncatingIfNeeded: proto), localAddr, UInt16(truncatingIfNeeded: localPort), remoteAddr, UInt16(truncatingIfNeeded: remotePort)) }
}
