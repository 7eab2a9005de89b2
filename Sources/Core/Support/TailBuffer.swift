/// The last `limit` bytes appended: what a peer said on stderr, kept for error messages.
public struct TailBuffer: Sendable {
    public let limit: Int
    public private(set) var bytes: [UInt8] = []

    public init(limit: Int) { self.limit = limit }

    public mutating func append(_ more: ArraySlice<UInt8>) {
        bytes.append(contentsOf: more)
        if bytes.count > limit { bytes.removeFirst(bytes.count - limit) }
    }
}

extension TailBuffer {
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
