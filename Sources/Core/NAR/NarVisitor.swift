/// Receives the entries of a NAR as a `NarParser` validates them, in stream order.
///
/// Every method has an empty default, so a visitor implements only what it needs;
/// a parse with no visitor at all only validates. Events for a path come after those
/// of its parent directory; nothing marks a directory's end.
public protocol NarVisitor {
    mutating func directory(at path: NarEntryPath) throws
    /// A regular file begins; `offset` is where its contents start in the NAR (the
    /// `narOffset` of a `.ls` listing). `fileContents` then brings exactly `size` bytes.
    mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws
    /// A piece of the current file. The buffer is only valid during the call.
    mutating func fileContents(_ bytes: UnsafeRawBufferPointer) throws
    mutating func endOfFile() throws
    mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws
}

extension NarVisitor {
    public mutating func directory(at path: NarEntryPath) throws {}
    public mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {}
    public mutating func fileContents(_ bytes: UnsafeRawBufferPointer) throws {}
    public mutating func endOfFile() throws {}
    public mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws {}
}

/// A visitor that does nothing: the parser only validates.
public struct NarValidationOnly: NarVisitor {
    public init() {}
}
