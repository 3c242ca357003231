// The link type of each interface's packets, decided once per interface by sysex/common's
// np_link_type from the interface's sdl_type (getifaddrs, AF_LINK) and the first packet seen on
// it: nw_interface_get_type says "other" for tunnels, bridges and cellular alike, which is not
// enough to know how their bytes are framed.
import CNetprov
import Darwin
import Foundation

final class Interfaces {
    private let lock = NSLock()
    private var linkTypes: [String: Int32] = [:]

    /// The link type of `name`'s packets: decided by this first packet, then remembered.
    func linkType(_ name: String, firstPacket bytes: UnsafeRawPointer, length: Int) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if let known = linkTypes[name] { return known }
        let decided = np_link_type(Interfaces.sdlType(name), bytes.assumingMemoryBound(to: UInt8.self), length)
        linkTypes[name] = decided
        return decided
    }

    /// The interface's sdl_type (net/if_types.h), 0 when it has no AF_LINK address.
    private static func sdlType(_ name: String) -> UInt8 {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return 0 }
        defer { freeifaddrs(list) }
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == UInt8(AF_LINK),
                  String(cString: entry.pointee.ifa_name) == name else { continue }
            return address.withMemoryRebound(to: sockaddr_dl.self, capacity: 1) { $0.pointee.sdl_type }
        }
        return 0
    }
}
