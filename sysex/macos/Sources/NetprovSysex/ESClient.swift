// The Endpoint Security client: exec, fork and exit of every process, and Unix-domain socket
// bind/connect (ES has no TCP/IP socket events: those come from the content filter). Process
// keys are (pid, pidversion) from audit tokens; global_seq_num gaps become loss events.
import CNetprov
import EndpointSecurity
import Foundation

enum ESClientError: Error, CustomStringConvertible {
    case cannotCreate(es_new_client_result_t)
    case cannotSubscribe

    var description: String {
        switch self {
        case .cannotCreate(ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED): return "Endpoint Security: missing the com.apple.developer.endpoint-security.client entitlement"
        case .cannotCreate(ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED): return "Endpoint Security: not permitted; grant the extension Full Disk Access (System Settings > Privacy & Security)"
        case .cannotCreate(ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED): return "Endpoint Security: needs to run as root (a system extension does)"
        case .cannotCreate(ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS): return "Endpoint Security: too many clients"
        case .cannotCreate(let result): return "Endpoint Security: es_new_client failed (\(result.rawValue))"
        case .cannotSubscribe: return "Endpoint Security: es_subscribe failed"
        }
    }
}

final class ESClient {
    private static let events = [ES_EVENT_TYPE_NOTIFY_EXEC, ES_EVENT_TYPE_NOTIFY_FORK, ES_EVENT_TYPE_NOTIFY_EXIT,
                                 ES_EVENT_TYPE_NOTIFY_UIPC_BIND, ES_EVENT_TYPE_NOTIFY_UIPC_CONNECT]
    private let recording: Recording
    private var client: OpaquePointer?
    private var sequence = np_sequence() // ES calls the handler serially: no lock needed

    init(recording: Recording) throws {
        self.recording = recording
        let result = es_new_client(&client) { [weak self] _, message in self?.handle(message) }
        guard result == ES_NEW_CLIENT_RESULT_SUCCESS, let client else { throw ESClientError.cannotCreate(result) }
        muteOwnProcess(client)
        guard es_subscribe(client, ESClient.events, UInt32(ESClient.events.count)) == ES_RETURN_SUCCESS else { throw ESClientError.cannotSubscribe }
    }

    deinit { if let client { es_delete_client(client) } }

    /// Our own process's events would describe the recording, not the machine.
    private func muteOwnProcess(_ client: OpaquePointer) {
        var token = audit_token_t()
        var count = mach_msg_type_number_t(MemoryLayout<audit_token_t>.size / MemoryLayout<natural_t>.size)
        let status = withUnsafeMutablePointer(to: &token) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { task_info(mach_task_self_, task_flavor_t(TASK_AUDIT_TOKEN), $0, &count) }
        }
        if status == KERN_SUCCESS { es_mute_process(client, &token) }
    }

    private func handle(_ message: UnsafePointer<es_message_t>) {
        let m = message.pointee
        let time = Clock.ns(m.time)
        if m.version >= 4 {
            let missed = np_sequence_observe(&sequence, m.global_seq_num)
            if missed > 0 { recording.loss(at: time, source: "es-sequence", count: missed, reason: "Endpoint Security dropped messages (global_seq_num gap)") }
        }
        let actor = m.process.pointee
        // The table is kept whether or not a recording runs (packets and flows are attributed
        // through it); only the events wait for admit().
        track(m)
        guard recording.admit() else { return }
        introduce(actor, version: m.version, at: time)
        switch m.event_type {
        case ES_EVENT_TYPE_NOTIFY_EXEC: exec(m.event.exec, former: actor, version: m.version, at: time)
        case ES_EVENT_TYPE_NOTIFY_FORK: fork(child: m.event.fork.child.pointee, parent: actor, at: time)
        case ES_EVENT_TYPE_NOTIFY_EXIT: exited(actor, status: m.event.exit.stat, at: time)
        case ES_EVENT_TYPE_NOTIFY_UIPC_BIND:
            let bind = m.event.uipc_bind
            unixSocket(actor, path: string(bind.dir.pointee.path) + "/" + string(bind.filename), origin: 4 /* listen */, at: time)
        case ES_EVENT_TYPE_NOTIFY_UIPC_CONNECT:
            unixSocket(actor, path: string(m.event.uipc_connect.file.pointee.path), origin: 1 /* connect */, at: time)
        default: break
        }
    }

    /// The shared table, from every message: processes in, exited processes out.
    private func track(_ m: es_message_t) {
        let actor = m.process.pointee
        let actorKey = ProcessKey(token: actor.audit_token)
        if !recording.state.isKnown(actorKey) {
            recording.state.processStarted(actorKey, path: string(actor.executable.pointee.path), signingId: string(actor.signing_id))
        }
        switch m.event_type {
        case ES_EVENT_TYPE_NOTIFY_EXEC:
            let target = m.event.exec.target.pointee
            recording.state.processExited(actorKey.key)
            recording.forget(actorKey.key)
            recording.state.processStarted(ProcessKey(token: target.audit_token), path: string(target.executable.pointee.path), signingId: string(target.signing_id))
        case ES_EVENT_TYPE_NOTIFY_FORK:
            let child = m.event.fork.child.pointee
            recording.state.processStarted(ProcessKey(token: child.audit_token), path: string(child.executable.pointee.path), signingId: string(child.signing_id))
        case ES_EVENT_TYPE_NOTIFY_EXIT:
            recording.state.processExited(actorKey.key)
        default: break
        }
    }

    /// A process this recording has not described yet (running before it began): a `process` event.
    private func introduce(_ process: es_process_t, version: UInt32, at time: Int64) {
        let key = ProcessKey(token: process.audit_token)
        guard recording.introduce(key.key) else { return }
        recording.emit(Int32(NP_PROCESS), at: time, image(process, version: version, argv: nil))
    }

    private func exec(_ event: es_event_exec_t, former: es_process_t, version: UInt32, at time: Int64) {
        var exec = event
        let target = exec.target.pointee
        let argv = (0 ..< es_exec_arg_count(&exec)).map { string(es_exec_arg(&exec, $0)) }
        let formerKey = ProcessKey(token: former.audit_token)
        recording.emit(Int32(NP_EXEC), at: time, image(target, version: version, argv: argv) + [.str(formerKey.key)])
        _ = recording.introduce(ProcessKey(token: target.audit_token).key) // the exec event describes it
    }

    private func fork(child: es_process_t, parent: es_process_t, at time: Int64) {
        let childKey = ProcessKey(token: child.audit_token)
        let parentKey = ProcessKey(token: parent.audit_token)
        recording.emit(Int32(NP_FORK), at: time, [.str(childKey.key), .int(Int64(childKey.pid)), .int(Int64(childKey.pidversion)), .str(parentKey.key), .int(Int64(parentKey.pid))])
        _ = recording.introduce(childKey.key) // the fork event names it; its exec or first flow describes its image
    }

    private func exited(_ process: es_process_t, status: Int32, at time: Int64) {
        let key = ProcessKey(token: process.audit_token)
        recording.emit(Int32(NP_EXIT), at: time, [.str(key.key), .int(Int64(key.pid)), .int(Int64(status))])
        recording.forget(key.key)
    }

    /// Unix-domain sockets as flowOpen events with protocol 0 and the socket's path as address.
    private func unixSocket(_ process: es_process_t, path: String, origin: Int64, at time: Int64) {
        let key = ProcessKey(token: process.audit_token)
        let id = "uipc-\(key.key)-\(time)"
        recording.emit(Int32(NP_FLOW_OPEN), at: time, [.str(id), .str(key.key), .int(0), .str("unix:" + path), .int(0), .str(""), .int(0),
                                                       .int(origin == 4 ? 1 : 2), .int(origin)])
    }

    /// The ProcessImage fields (events.ts) of an ES process, in wire order.
    private func image(_ process: es_process_t, version: UInt32, argv: [String]?) -> [Field] {
        let key = ProcessKey(token: process.audit_token)
        // parent_audit_token arrived with message version 4; before it only the parent's pid is known.
        let parentKey = version >= 4 ? ProcessKey(token: process.parent_audit_token).key : nil
        let cdhash = withUnsafeBytes(of: process.cdhash) { $0.map { String(format: "%02x", $0) }.joined() }
        return [.str(key.key), .int(Int64(key.pid)), .int(Int64(key.pidversion)), .int(Int64(process.ppid)), .str(parentKey),
                .int(Int64(key.uid)), .str(string(process.executable.pointee.path)), .strs(argv),
                .str(nonEmpty(string(process.signing_id))), .str(nonEmpty(string(process.team_id))), .str(cdhash), .bool(process.is_platform_binary)]
    }

    private func string(_ token: es_string_token_t) -> String {
        guard let data = token.data, token.length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: token.length), as: UTF8.self)
    }

    private func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
}
