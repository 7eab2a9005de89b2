/// Builds bytes in Nix's wire format: every integer a little-endian u64, every string
/// its u64 length, its bytes, and zero padding to a multiple of 8.
///
/// NARs and the serve protocol share this framing (`src/libutil/serialise.cc`).
public struct WireEncoder: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// The zero bytes that follow a string of `length` bytes.
    public static func paddingLength(for length: UInt64) -> Int {
        Int((8 - length % 8) % 8)
    }

    public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func bool(_ value: Bool) { u64(value ? 1 : 0) }

    public mutating func string(_ value: some Collection<UInt8>) {
        u64(UInt64(value.count))
        bytes.append(contentsOf: value)
        padding(for: UInt64(value.count))
    }

    public mutating func string(_ value: String) { string(value.utf8) }

    /// A count, then each string: Nix's `Strings`, `StringSet` and `StorePathSet` on the wire.
    public mutating func strings(_ values: some Collection<String>) {
        u64(UInt64(values.count))
        for value in values { string(value) }
    }

    public mutating func padding(for length: UInt64) {
        bytes.append(contentsOf: repeatElement(0, count: WireEncoder.paddingLength(for: length)))
    }

    public mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    public var isEmpty: Bool { bytes.isEmpty }
    public var count: Int { bytes.count }
}
