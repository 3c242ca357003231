// The XPC contract between the recorder's client (netprov-sysex-client, Sources/NetprovClient)
// and the system extension: the two protocols, the service's name and who may connect. One
// module, compiled into both, so the two sides cannot drift apart.
import Foundation
import Security

/// Exported by the system extension on its NEMachServiceName.
@objc(NetprovSensorService) public protocol SensorService {
    /// Starts a session streamed to the caller's RecorderClient; replies nil, or why not.
    @objc(startRecordingWithSnaplen:reply:) func startRecording(snaplen: Int, reply: @escaping (String?) -> Void)
    /// Ends it: the trailer follows the last chunk, then finishedWithError:.
    @objc(stopRecording) func stopRecording()
}

/// Exported by the client on the same connection.
@objc(NetprovRecorderClient) public protocol RecorderClient {
    /// One piece of the session stream (the signature, or one whole frame), in order, with the
    /// running totals. `done` acknowledges it: at most a few pieces are unacknowledged at a time.
    @objc(receivePiece:eventsByKind:lost:done:) func receive(piece: Data, eventsByKind: [NSNumber], lost: UInt64, done: @escaping () -> Void)
    @objc(finishedWithError:) func finished(error: String?)
}

public enum XPCPeers {
    /// The code-signing identifier of the one client the extension accepts.
    public static let clientIdentifier = "com.netprov.sysex-client"

    /// The extension's Mach service: Info.plist's NEMachServiceName, "$(TeamIdentifierPrefix)com.netprov.sysex.xpc".
    public static func serviceName(team: String) -> String { "\(team).com.netprov.sysex.xpc" }

    /// What the extension requires of a client: Apple-anchored, signed by this team, as the client.
    public static func clientRequirement(team: String) -> String {
        "anchor apple generic and certificate leaf[subject.OU] = \"\(team)\" and identifier \"\(clientIdentifier)\""
    }

    /// The team that signed the running code (nil when unsigned or ad hoc signed).
    public static func ownTeam() -> String? {
        var code: SecCode?
        var staticCode: SecStaticCode?
        var information: CFDictionary?
        guard SecCodeCopySelf([], &code) == errSecSuccess, let code, SecCodeCopyStaticCode(code, [], &staticCode) == errSecSuccess, let staticCode,
              SecCodeCopySigningInformation(staticCode, SecCSFlags(rawValue: kSecCSSigningInformation), &information) == errSecSuccess,
              let info = information as? [String: Any] else { return nil }
        return info[kSecCodeInfoTeamIdentifier as String] as? String
    }
}
