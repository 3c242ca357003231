// The one session clock on macOS: CLOCK_REALTIME in ns, read the moment each callback runs (the
// packet filter's handler gets no timestamp of its own) or taken from the ES message's `time`.
import Foundation

enum Clock {
    static func realtimeNs() -> Int64 { Int64(clock_gettime_nsec_np(CLOCK_REALTIME)) }
    static func ns(_ time: timespec) -> Int64 { Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec) }
}
