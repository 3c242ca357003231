// The XPC service the recorder's client connects to: an NSXPCListener on the Mach service named
// in Info.plist (NetworkExtension.NEMachServiceName, which the system registers for a network
// extension). A session holds every process's traffic, so the only client accepted is
// netprov-sysex-client signed by this extension's own team (setCodeSigningRequirement), run as root.
import Foundation
import NetprovXPC

final class RecorderService: NSObject, NSXPCListenerDelegate {
    private let recording: Recording
    private var listener: NSXPCListener?
    private var clientRequirement: String?

    init(recording: Recording) { self.recording = recording }

    func listen() {
        let extensionInfo = Bundle.main.object(forInfoDictionaryKey: "NetworkExtension") as? [String: Any]
        guard let service = extensionInfo?["NEMachServiceName"] as? String else {
            NSLog("netprov sysex: Info.plist has no NetworkExtension.NEMachServiceName; no recorder can connect")
            return
        }
        guard let team = XPCPeers.ownTeam() else {
            NSLog("netprov sysex: this extension is not signed by a team; no recorder can connect (its client must be the team's)")
            return
        }
        clientRequirement = XPCPeers.clientRequirement(team: team)
        let listener = NSXPCListener(machServiceName: service)
        listener.delegate = self
        listener.resume()
        self.listener = listener
    }

    func listener(_ listener: NSXPCListener, shouldAcceptNewConnection connection: NSXPCConnection) -> Bool {
        guard connection.effectiveUserIdentifier == 0, let clientRequirement else { return false }
        // Checked by the system on every message: a client that is not ours gets nothing through.
        connection.setCodeSigningRequirement(clientRequirement)
        connection.exportedInterface = NSXPCInterface(with: SensorService.self)
        connection.remoteObjectInterface = NSXPCInterface(with: RecorderClient.self)
        let session = RecorderSession(connection: connection, recording: recording)
        connection.exportedObject = session
        // The client went away: end its own recording rather than fill a queue nobody reads. Any
        // other client's coming and going leaves the running recording alone.
        connection.invalidationHandler = { [recording, owner = session.owner] in recording.stop(owner: owner) }
        connection.resume()
        return true
    }
}

/// One connected client, known to np_recording by a number of its own.
final class RecorderSession: NSObject, SensorService {
    private static var numbers: UInt64 = 0
    private weak var connection: NSXPCConnection?
    private let recording: Recording
    let owner: UInt64 = {
        RecorderSession.numbers += 1 // listener delegate calls arrive one at a time
        return RecorderSession.numbers
    }()

    init(connection: NSXPCConnection, recording: Recording) {
        self.connection = connection
        self.recording = recording
    }

    func startRecording(snaplen: Int, reply: @escaping (String?) -> Void) {
        let proxy = connection?.remoteObjectProxyWithErrorHandler { [recording, owner] _ in recording.stop(owner: owner) }
        guard let client = proxy as? RecorderClient else { return reply("the client does not export NetprovRecorderClient") }
        reply(recording.start(snaplen: snaplen, outbox: Outbox(client: client), owner: owner))
    }

    /// Stops this client's recording only: another client's stop is refused by np_recording.
    func stopRecording() { recording.stop(owner: owner) }
}
