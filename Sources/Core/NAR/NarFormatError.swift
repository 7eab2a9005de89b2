/// A NAR stream that breaks one of the format's rules, with where it broke.
public struct NarFormatError: Error, CustomStringConvertible, Equatable {
    /// Byte offset in the NAR where the offending token starts (or the stream ended).
    public let offset: UInt64
    /// The entry being read, when the error is inside one.
    public let entry: NarEntryPath
    public let reason: String

    public init(offset: UInt64, entry: NarEntryPath = NarEntryPath(), reason: String) {
        self.offset = offset
        self.entry = entry
        self.reason = reason
    }

    public var description: String {
        "invalid NAR at byte \(offset)\(entry.isRoot ? "" : " (in \(entry))"): \(reason)"
    }
}
