// What the system says about a running process, for a `process` event when Endpoint Security has
// not described it: one alive before the recording began (the snapshot at its start), or one
// first seen opening a flow while ES is not running. Keys come from audit tokens
// (task_name_for_pid + TASK_AUDIT_TOKEN, root only), so a pid reused since is never described
// with another process's facts.
import CNetprov
import Darwin
import Foundation
import Security

enum ProcessFacts {
    /// Every pid running now (proc_listallpids).
    static func runningPids() -> [pid_t] {
        let count = proc_listallpids(nil, 0)
        guard count > 0 else { return [] }
        var pids = [pid_t](repeating: 0, count: Int(count) + 64) // room for processes started meanwhile
        let filled = proc_listallpids(&pids, Int32(pids.count * MemoryLayout<pid_t>.size))
        return Array(pids.prefix(Int(max(filled, 0)))).filter { $0 > 0 }
    }

    /// The audit token of the process running now with this pid.
    static func auditToken(pid: pid_t) -> audit_token_t? {
        var task = mach_port_name_t(MACH_PORT_NULL)
        guard task_name_for_pid(mach_task_self_, pid, &task) == KERN_SUCCESS else { return nil }
        defer { mach_port_deallocate(mach_task_self_, task) }
        var token = audit_token_t()
        var count = mach_msg_type_number_t(MemoryLayout<audit_token_t>.size / MemoryLayout<natural_t>.size)
        let status = withUnsafeMutablePointer(to: &token) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { task_info(task, task_flavor_t(TASK_AUDIT_TOKEN), $0, &count) }
        }
        return status == KERN_SUCCESS ? token : nil
    }

    /// The ProcessImage fields (events.ts) of the process `key`, as far as the system still knows
    /// them: all of them while that instance runs, only its key once the pid belongs to another.
    static func image(_ key: ProcessKey, token: Data?) -> [Field] {
        let pid = pid_t(key.pid)
        let identity: [Field] = [.str(key.key), .int(Int64(key.pid)), .int(Int64(key.pidversion))]
        guard let now = auditToken(pid: pid).map({ ProcessKey(token: $0) }), now.key == key.key else { return identity }
        var info = proc_bsdinfo()
        let size = Int32(MemoryLayout<proc_bsdinfo>.size)
        guard proc_pidinfo(pid, PROC_PIDTBSDINFO, 0, &info, size) == size else { return identity }
        let parentKey = auditToken(pid: pid_t(info.pbi_ppid)).map { ProcessKey(token: $0).key }
        let signing = Signing(token: token ?? tokenData(pid: pid))
        return identity + [.int(Int64(info.pbi_ppid)), .str(parentKey), .int(Int64(info.pbi_ruid)), .str(path(pid)), .strs(arguments(pid)),
                           .str(signing?.identifier), .str(signing?.team), .str(signing?.cdhash), .bool(signing?.platform)]
    }

    private static func tokenData(pid: pid_t) -> Data? {
        guard var token = auditToken(pid: pid) else { return nil }
        return Data(bytes: &token, count: MemoryLayout<audit_token_t>.size)
    }

    private static func path(_ pid: pid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(MAXPATHLEN) * 4)
        return proc_pidpath(pid, &buffer, UInt32(buffer.count)) > 0 ? String(cString: buffer) : nil
    }

    /// argv from KERN_PROCARGS2: argc, the exec path, padding NULs, then argc strings.
    private static func arguments(_ pid: pid_t) -> [String]? {
        var mib: [Int32] = [CTL_KERN, KERN_PROCARGS2, pid]
        var size = 0
        guard sysctl(&mib, 3, nil, &size, nil, 0) == 0, size > MemoryLayout<Int32>.size else { return nil }
        var bytes = [UInt8](repeating: 0, count: size)
        guard sysctl(&mib, 3, &bytes, &size, nil, 0) == 0 else { return nil }
        let argc = bytes.withUnsafeBytes { $0.load(as: Int32.self) }
        var at = MemoryLayout<Int32>.size
        while at < size, bytes[at] != 0 { at += 1 } // the exec path
        while at < size, bytes[at] == 0 { at += 1 }
        var argv: [String] = []
        while argv.count < argc, at < size {
            let end = bytes[at ..< size].firstIndex(of: 0) ?? size
            argv.append(String(decoding: bytes[at ..< end], as: UTF8.self))
            at = end + 1
        }
        return argv
    }
}

/// A process's code signature, looked up by its audit token (so never another process's).
private struct Signing {
    let identifier: String?
    let team: String?
    let cdhash: String?
    let platform: Bool

    init?(token: Data?) {
        guard let token else { return nil }
        var code: SecCode?
        guard SecCodeCopyGuestWithAttributes(nil, [kSecGuestAttributeAudit: token] as CFDictionary, [], &code) == errSecSuccess, let code else { return nil }
        var staticCode: SecStaticCode?
        guard SecCodeCopyStaticCode(code, [], &staticCode) == errSecSuccess, let staticCode else { return nil }
        var information: CFDictionary?
        guard SecCodeCopySigningInformation(staticCode, SecCSFlags(rawValue: kSecCSSigningInformation), &information) == errSecSuccess,
              let info = information as? [String: Any] else { return nil }
        identifier = info[kSecCodeInfoIdentifier as String] as? String
        team = info[kSecCodeInfoTeamIdentifier as String] as? String
        cdhash = (info[kSecCodeInfoUnique as String] as? Data)?.map { String(format: "%02x", $0) }.joined()
        platform = (info[kSecCodeInfoPlatformIdentifier as String] as? Int ?? 0) != 0
    }
}
