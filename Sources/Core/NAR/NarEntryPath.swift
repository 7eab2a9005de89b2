/// Where an entry sits inside a NAR: the names from the root down, each raw bytes
/// (a NAR name may be any bytes but `/` and NUL). The root is the empty path.
public struct NarEntryPath: Hashable, Sendable, CustomStringConvertible {
    public var components: [[UInt8]]

    public init(_ components: [[UInt8]] = []) { self.components = components }

    public var isRoot: Bool { components.isEmpty }
    public var depth: Int { components.count }
    public var name: [UInt8]? { components.last }

    /// `/sub/run.sh`; `/` for the root. Bytes that are not UTF-8 show as U+FFFD.
    public var description: String {
        "/" + components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
    }
}
