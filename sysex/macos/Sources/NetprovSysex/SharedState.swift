// The live processes and flows every handler shares: sysex/common's np_table (one os_unfair_lock
// inside, np_lock.h), so the packet filter can name the process of a packet's flow, and a flow
// the process facts Endpoint Security saw first. Every call copies in or out under that lock.
import CNetprov
import Foundation

final class SharedState {
    private let table: OpaquePointer

    init() {
        // A desktop runs hundreds of processes and a few thousand flows; every call is O(1).
        table = np_table_new(16_384, 65_536)! // only out of memory fails here
    }

    deinit { np_table_free(table) }

    func processStarted(_ key: ProcessKey, path: String?, signingId: String?) {
        var info = np_process_info_make(key.key, key.pid, path, signingId)
        np_table_put_process(table, &info)
    }

    func processExited(_ key: String) { np_table_remove_process(table, key) }

    /// Whether this instance is already known (Endpoint Security gives no snapshot: the first
    /// event of a process that was running before recording began introduces it).
    func isKnown(_ key: ProcessKey) -> Bool {
        var info = np_process_info()
        guard np_table_process_by_pid(table, key.pid, &info) == 0 else { return false }
        return withUnsafeBytes(of: &info.key) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) } == key.key
    }

    /// A flow the content filter sees, with its process when the system named one. False when the
    /// table had it already (the filter sees a flow again once its endpoints are known).
    func flowOpened(id: String, processKey: String?, tuple: np_tuple) -> Bool {
        var copy = tuple
        return np_table_put_flow(table, id, processKey ?? "", &copy) != 1
    }

    /// The flow's process and tuple as they were recorded at its opening, and the flow gone from
    /// the table: a close report carries no audit token of its own.
    func flowClosed(id: String) -> (processKey: String?, tuple: np_tuple)? {
        var key = [CChar](repeating: 0, count: Int(NP_KEY_MAX))
        var tuple = np_tuple()
        let found = np_table_flow_by_id(table, id, &key, &tuple) == 0
        np_table_remove_flow(table, id)
        guard found else { return nil }
        let processKey = String(cString: key)
        return (processKey.isEmpty ? nil : processKey, tuple)
    }

    /// The process of the flow this packet belongs to, when the content filter has seen that flow.
    func processOfPacket(_ bytes: UnsafeRawPointer, length: Int, linkType: Int32) -> String? {
        var tuple = np_tuple()
        guard np_packet_tuple(bytes.assumingMemoryBound(to: UInt8.self), length, linkType, &tuple) == 0 else { return nil }
        var key = [CChar](repeating: 0, count: Int(NP_KEY_MAX))
        guard np_table_flow_process(table, &tuple, &key) == 0, key[0] != 0 else { return nil }
        return String(cString: key)
    }
}
