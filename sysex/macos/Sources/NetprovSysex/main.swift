// The system extension's process. Endpoint Security starts first, so that processes are known
// before their flows and packets; the system then instantiates the two Network Extension
// providers (Info.plist NEProviderClasses) in this same process, where they share Recording;
// the XPC listener (NEMachServiceName) is how the recorder asks for a session stream.
import Foundation
import NetworkExtension

let recording = Recording.shared
let endpointSecurity: ESClient
do {
    endpointSecurity = try ESClient(recording: recording)
} catch {
    NSLog("netprov sysex: %@", String(describing: error))
    exit(EXIT_FAILURE)
}
let recorderService = RecorderService(recording: recording)
recorderService.listen()
NEProvider.startSystemExtensionMode()
dispatchMain()
