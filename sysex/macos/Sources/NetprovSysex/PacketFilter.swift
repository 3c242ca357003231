// NEFilterPacketProvider: every packet on every interface while a recording runs, timestamped the
// moment the handler runs (the API gives no timestamp), copied up to the snap length, always
// allowed. The system calls the handler on several threads at once; Recording and np_stream are
// thread-safe. Between recordings no handler is set, so an idle extension does no per-packet
// work of its own (what the framework still does for a provider without a handler is not
// documented: sysex/macos/README.md).
import Foundation
import Network
import NetworkExtension

final class PacketFilter: NEFilterPacketProvider {
    private let interfaces = Interfaces()

    override func startFilter(completionHandler: @escaping (Error?) -> Void) {
        Recording.shared.whenRunningChanges { [weak self] running in
            guard let self else { return }
            if running {
                self.packetHandler = { [unowned self] context, interface, direction, bytes, length in
                    self.record(context, interface, direction, bytes, length)
                }
            } else {
                self.packetHandler = nil
            }
        }
        completionHandler(nil)
    }

    override func stopFilter(with reason: NEProviderStopReason, completionHandler: @escaping () -> Void) {
        Recording.shared.whenRunningChanges { _ in }
        packetHandler = nil
        completionHandler()
    }

    private func record(_ context: NEFilterPacketContext, _ interface: nw_interface_t, _ direction: NETrafficDirection,
                        _ bytes: UnsafeRawPointer, _ length: Int) -> NEFilterPacketProvider.Verdict {
        let arrived = Clock.realtimeNs()
        let recording = Recording.shared
        guard recording.admit() else { return .allow }
        let name = String(cString: nw_interface_get_name(interface))
        recording.packet(at: arrived, interface: name, linkType: interfaces.linkType(name, firstPacket: bytes, length: length),
                         direction: PacketFilter.direction(direction), bytes: bytes, length: length)
        return .allow
    }

    private static func direction(_ direction: NETrafficDirection) -> Int32 {
        switch direction {
        case .inbound: return 1
        case .outbound: return 2
        default: return 0
        }
    }
}
