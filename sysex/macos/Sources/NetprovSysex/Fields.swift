// Swift values to sysex/common's np_field array: the C strings live exactly as long as the call
// that encodes them.
import CNetprov
import Foundation

enum Field {
    case none
    case int(Int64)
    /// Always a 64-bit msgpack int: for values past 2^32 the reader must take as integers (a clock reading in ns).
    case int64(Int64)
    case str(String?)
    case strs([String]?)
    case bool(Bool?)
}

func withFields<R>(_ fields: [Field], _ body: (UnsafePointer<np_field>, Int) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>] = []
    var lists: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []
    defer {
        owned.forEach { free($0) }
        lists.forEach { $0.deallocate() }
    }
    let copy = { (text: String) -> UnsafeMutablePointer<CChar> in
        let c = strdup(text)!
        owned.append(c)
        return c
    }
    let raw: [np_field] = fields.map { field in
        switch field {
        case .none: return np_nil()
        case .int(let value): return np_int(value)
        case .int64(let value): return np_int64(value)
        case .str(let text): return text.map { np_str(copy($0)) } ?? np_nil()
        case .bool(let flag): return flag.map { np_bool($0 ? 1 : 0) } ?? np_nil()
        case .strs(let texts):
            guard let texts else { return np_nil() }
            let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(texts.count, 1))
            lists.append(list)
            for (i, text) in texts.enumerated() { list[i] = UnsafePointer(copy(text)) }
            return np_strs(list, texts.count)
        }
    }
    return raw.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
}
