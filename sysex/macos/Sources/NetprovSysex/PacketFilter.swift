// NEFilterPacketProvider: every packet on every interface, timestamped the moment the handler
// runs (the API gives no timestamp), copied up to the snap length, always allowed. The system
// calls the handler on several threads at once; Recording and np_stream are thread-safe.
import Foundation
import Network
import NetworkExtension

final class PacketFilter: NEFilterPacketProvider {
    override func startFilter(completionHandler: @escaping (Error?) -> Void) {
        let recording = Recording.shared
        packetHandler = { _, interface, direction, bytes, length in
            let arrived = Clock.realtimeNs()
            guard recording.admit() else { return .allow }
            let name = String(cString: nw_interface_get_name(interface))
            recording.packet(at: arrived, interface: name, linkType: PacketFilter.linkType(of: interface),
                             direction: PacketFilter.direction(direction), bytes: bytes, length: length)
            return .allow
        }
        completionHandler(nil)
    }

    override func stopFilter(with reason: NEProviderStopReason, completionHandler: @escaping () -> Void) {
        packetHandler = nil
        completionHandler()
    }

    /// LINKTYPE_* of the bytes the handler gets: Ethernet frames on Ethernet and Wi-Fi, BSD
    /// loopback framing on lo0, raw IP on tunnels and cellular. Not verified on a Mac yet (README).
    private static func linkType(of interface: nw_interface_t) -> Int32 {
        switch nw_interface_get_type(interface) {
        case nw_interface_type_wifi, nw_interface_type_wired: return 1
        case nw_interface_type_loopback: return 0
        default: return 101
        }
    }

    private static func direction(_ direction: NETrafficDirection) -> Int32 {
        switch direction {
        case .inbound: return 1
        case .outbound: return 2
        default: return 0
        }
    }
}
