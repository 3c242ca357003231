// The XPC service the recorder connects to: an NSXPCListener on the Mach service named in
// Info.plist (NetworkExtension.NEMachServiceName, which the system registers for a network
// extension). Only a root client is accepted: a session holds every process's traffic.
import Foundation

final class RecorderService: NSObject, NSXPCListenerDelegate {
    private let recording: Recording
    private var listener: NSXPCListener?

    init(recording: Recording) { self.recording = recording }

    func listen() {
        let extensionInfo = Bundle.main.object(forInfoDictionaryKey: "NetworkExtension") as? [String: Any]
        guard let service = extensionInfo?["NEMachServiceName"] as? String else {
            NSLog("netprov sysex: Info.plist has no NetworkExtension.NEMachServiceName; no recorder can connect")
            return
        }
        let listener = NSXPCListener(machServiceName: service)
        listener.delegate = self
        listener.resume()
        self.listener = listener
    }

    func listener(_ listener: NSXPCListener, shouldAcceptNewConnection connection: NSXPCConnection) -> Bool {
        guard connection.effectiveUserIdentifier == 0 else { return false }
        connection.exportedInterface = NSXPCInterface(with: SensorService.self)
        connection.remoteObjectInterface = NSXPCInterface(with: RecorderClient.self)
        connection.exportedObject = RecorderSession(connection: connection, recording: recording)
        // The recorder went away: end its session rather than fill a queue nobody reads.
        connection.invalidationHandler = { [recording] in recording.stop() }
        connection.resume()
        return true
    }
}

/// One connected recorder.
final class RecorderSession: NSObject, SensorService {
    private weak var connection: NSXPCConnection?
    private let recording: Recording

    init(connection: NSXPCConnection, recording: Recording) {
        self.connection = connection
        self.recording = recording
    }

    func startRecording(snaplen: Int, reply: @escaping (String?) -> Void) {
        let proxy = connection?.remoteObjectProxyWithErrorHandler { [recording] _ in recording.stop() }
        guard let client = proxy as? RecorderClient else { return reply("the recorder does not export NetprovRecorderClient") }
        reply(recording.start(snaplen: snaplen, outbox: Outbox(client: client)))
    }

    func stopRecording() { recording.stop() }
}
