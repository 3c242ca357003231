// The system extension's process. The network filters come first: the system instantiates the
// two Network Extension providers (Info.plist NEProviderClasses) in this process, where they
// share Recording, and the XPC listener (NEMachServiceName) is how the recorder asks for a
// session stream. Endpoint Security follows, retried with backoff while es_new_client fails —
// on first install the extension runs before it has been given Full Disk Access — and each
// failure and the recovery are marks in the recording (Recording.sourceDown/sourceUp).
import Foundation
import NetworkExtension

let recording = Recording.shared
let recorderService = RecorderService(recording: recording)
recorderService.listen()
NEProvider.startSystemExtensionMode()

/// Keeps trying to become an Endpoint Security client: 1 s after a failure, doubling to a minute.
final class EndpointSecurityStarter {
    private(set) var client: ESClient?
    private let queue = DispatchQueue(label: "com.netprov.sysex.es-start")

    func start(attempt: Int = 0) {
        queue.async {
            do {
                self.client = try ESClient(recording: recording)
                recording.sourceUp("Endpoint Security")
            } catch {
                let delay = min(1 << min(attempt, 6), 60)
                NSLog("netprov sysex: %@", "\(error); retrying in \(delay) s")
                recording.sourceDown("Endpoint Security", "\(error); retrying in \(delay) s")
                self.queue.asyncAfter(deadline: .now() + .seconds(delay)) { self.start(attempt: attempt + 1) }
            }
        }
    }
}

let endpointSecurity = EndpointSecurityStarter()
endpointSecurity.start()
dispatchMain()
