// netprov-sysex-client: the one client the system extension accepts (its code-signing
// requirement names this tool, signed by the same team; it lives in Netprov.app/Contents/MacOS).
// It asks the extension for a recording and writes the session stream to stdout, byte for byte
// as the extension sends it; the recorder (recorder/native/src/darwin_backend.cc) runs it as root
// and reads that. SIGINT or SIGTERM ends the recording: the trailer follows, then it exits.
//
//   netprov-sysex-client [--snaplen N]
//
// stderr: "counts E1 ... E16 LOST" after each piece (events by kind, events lost), and on failure
// one line saying why. Exit status 0 after a whole session, 1 otherwise.
import Foundation
import NetprovXPC

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("netprov-sysex-client: \(message)\n".utf8))
    exit(1)
}

final class Client: NSObject, RecorderClient {
    func receive(piece: Data, eventsByKind: [NSNumber], lost: UInt64, done: @escaping () -> Void) {
        do {
            try FileHandle.standardOutput.write(contentsOf: piece)
        } catch {
            fail("the recorder stopped reading (\(error.localizedDescription))")
        }
        FileHandle.standardError.write(Data(("counts " + eventsByKind.map(\.stringValue).joined(separator: " ") + " \(lost)\n").utf8))
        done() // acknowledged once written: a slow reader slows the extension, which then counts losses
    }

    func finished(error: String?) {
        if let error { fail(error) }
        exit(0)
    }
}

let arguments = CommandLine.arguments
let snaplen = arguments.firstIndex(of: "--snaplen").flatMap { arguments.indices.contains($0 + 1) ? Int(arguments[$0 + 1]) : nil } ?? 262_144
guard getuid() == 0 else { fail("run as root: the extension serves root clients only") }
guard let team = XPCPeers.ownTeam() else { fail("this tool is not signed by a team; the extension accepts only its own team's client") }

signal(SIGPIPE, SIG_IGN)
let client = Client()
let connection = NSXPCConnection(machServiceName: XPCPeers.serviceName(team: team), options: .privileged)
connection.remoteObjectInterface = NSXPCInterface(with: SensorService.self)
connection.exportedInterface = NSXPCInterface(with: RecorderClient.self)
connection.exportedObject = client
connection.invalidationHandler = { fail("the connection to the system extension ended (is it activated? sysex/macos/README.md)") }
connection.resume()

let proxy = connection.remoteObjectProxyWithErrorHandler { error in
    fail("cannot reach the netprov system extension (\(XPCPeers.serviceName(team: team))): \(error.localizedDescription)")
} as? SensorService
guard let service = proxy else { fail("the extension does not export NetprovSensorService") }

var stopSources: [DispatchSourceSignal] = []
for signalNumber in [SIGINT, SIGTERM] {
    signal(signalNumber, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
    source.setEventHandler { service.stopRecording() }
    source.resume()
    stopSources.append(source)
}

service.startRecording(snaplen: snaplen) { refused in
    if let refused { fail("the system extension refused: \(refused)") }
}
dispatchMain()
