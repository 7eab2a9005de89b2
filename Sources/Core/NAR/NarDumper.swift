#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serialises a file-system tree into a NAR, byte for byte what `nix-store --dump` writes.
///
/// Entries are sorted by their raw bytes (Nix's `std::map<std::string>` order), the only
/// permission kept is the owner's execute bit, and a symlink is stored, never followed.
/// Memory is one read buffer plus small tokens, whatever the size of the files.
public struct NarDumper {
    /// Where the NAR goes, in pieces; each buffer is valid only during the call.
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    private let chunkSize: Int
    private var header = WireEncoder(reservingCapacity: 4096)
    private let output: Output

    private init(chunkSize: Int, output: @escaping Output) {
        self.chunkSize = chunkSize
        self.output = output
    }

    /// Writes the NAR of `path` (which may be a directory, a file or a symlink) to `output`.
    public static func dump(path: String, chunkSize: Int = 256 * 1024, to output: @escaping Output) throws {
        var dumper = NarDumper(chunkSize: chunkSize, output: output)
        dumper.header.string(NarParser.magic)
        var st = stat()
        guard lstat(path, &st) == 0 else { throw SystemError("lstat", path) }
        try dumper.node(directory: AT_FDCWD, name: Array(path.utf8), stat: st, shownAs: path)
        try dumper.flush()
    }

    private mutating func flush() throws {
        guard !header.isEmpty else { return }
        try header.bytes.withUnsafeBytes { try output($0) }
        header.removeAll()
    }

    private mutating func node(directory: Int32, name: [UInt8], stat st: stat, shownAs shown: String) throws {
        header.string("(")
        header.string("type")
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            try regular(directory: directory, name: name, stat: st, shownAs: shown)
        case S_IFLNK:
            header.string("symlink")
            header.string("target")
            header.string(try readLink(directory: directory, name: name, shownAs: shown))
        case S_IFDIR:
            try self.directory(directory: directory, name: name, shownAs: shown)
        default:
            throw NarDumpError(path: shown, reason: "it is neither a regular file, a directory nor a symlink")
        }
        header.string(")")
    }

    private mutating func regular(directory: Int32, name: [UInt8], stat st: stat, shownAs shown: String) throws {
        header.string("regular")
        if st.st_mode & S_IXUSR != 0 {
            header.string("executable")
            header.string("")
        }
        header.string("contents")
        let size = UInt64(st.st_size)
        header.u64(size)
        let fd = withCString(name) { openat(directory, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw SystemError("open", shown) }
        defer { close(fd) }
        try flush()
        var remaining = size
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while remaining > 0 {
            let wanted = Int(min(UInt64(chunkSize), remaining))
            let n = try buffer.withUnsafeMutableBytes { raw in
                try readSome(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<wanted]), subject: shown)
            }
            guard n > 0 else { throw NarDumpError(path: shown, reason: "the file shrank while it was being read") }
            try buffer.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            remaining -= UInt64(n)
        }
        header.padding(for: size)
    }

    private mutating func directory(directory parent: Int32, name: [UInt8], shownAs shown: String) throws {
        header.string("directory")
        let fd = withCString(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw SystemError("open", shown) }
        defer { close(fd) }
        for entry in try NarDumper.sortedEntries(of: fd, shownAs: shown) {
            let childShown = shown + "/" + String(decoding: entry, as: UTF8.self)
            var st = stat()
            guard withCString(entry, { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                throw SystemError("lstat", childShown)
            }
            header.string("entry")
            header.string("(")
            header.string("name")
            header.string(entry)
            header.string("node")
            try node(directory: fd, name: entry, stat: st, shownAs: childShown)
            header.string(")")
        }
    }

    /// The names in a directory, sorted bytewise, without `.` and `..`.
    private static func sortedEntries(of fd: Int32, shownAs shown: String) throws -> [[UInt8]] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else { throw SystemError("opendir", shown) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [46] || name == [46, 46] { continue }
            names.append(name)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func readLink(directory: Int32, name: [UInt8], shownAs shown: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = withCString(name) { cName in
            buffer.withUnsafeMutableBytes { readlinkat(directory, cName, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        }
        guard n >= 0 else { throw SystemError("readlink", shown) }
        return Array(buffer[0..<n])
    }
}

/// A tree that cannot be put into a NAR.
public struct NarDumpError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot archive '\(path)': \(reason)" }
}
