// The XPC contract between the recorder (recorder/native/src/darwin_backend.mm declares the same
// two protocols in Objective-C; the selectors below are what must match) and this extension.
import Foundation

/// Exported by the system extension on its NEMachServiceName.
@objc(NetprovSensorService) protocol SensorService {
    /// Starts a session streamed to the caller's RecorderClient; replies nil, or why not.
    @objc(startRecordingWithSnaplen:reply:) func startRecording(snaplen: Int, reply: @escaping (String?) -> Void)
    /// Ends it: the trailer follows the last chunk, then finishedWithError:.
    @objc(stopRecording) func stopRecording()
}

/// Exported by the recorder on the same connection.
@objc(NetprovRecorderClient) protocol RecorderClient {
    /// One piece of the session stream (the signature, or one whole frame), in order, with the
    /// running totals. `done` acknowledges it: at most a few pieces are unacknowledged at a time.
    @objc(receivePiece:eventsByKind:lost:done:) func receive(piece: Data, eventsByKind: [NSNumber], lost: UInt64, done: @escaping () -> Void)
    @objc(finishedWithError:) func finished(error: String?)
}
