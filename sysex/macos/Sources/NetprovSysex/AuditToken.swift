// Process keys ("pid.pidversion") from audit tokens, decoded by sysex/common (np_audit_token_decode),
// whether the token comes from Endpoint Security (audit_token_t) or a NEFilterFlow (Data).
import CNetprov
import Foundation

struct ProcessKey {
    let key: String
    let pid: UInt32
    let pidversion: UInt32
    let uid: UInt32 // the real user

    init?(tokenData: Data?) {
        guard let tokenData, tokenData.count == MemoryLayout<audit_token_t>.size else { return nil }
        self.init(raw: tokenData.withUnsafeBytes { np_audit_token_decode($0.bindMemory(to: UInt8.self).baseAddress!) })
    }

    init(token: audit_token_t) {
        var copy = token
        self.init(raw: withUnsafeBytes(of: &copy) { np_audit_token_decode($0.bindMemory(to: UInt8.self).baseAddress!) })
    }

    private init(raw: np_audit_token) {
        var token = raw
        var buffer = [CChar](repeating: 0, count: Int(NP_KEY_MAX))
        np_process_key(&token, &buffer, buffer.count)
        key = String(cString: buffer)
        pid = raw.pid
        pidversion = raw.pidversion
        uid = raw.ruid
    }
}
