#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that appear whole or not at all: written under a temporary name unique to this
/// process and this write, flushed to disk, then renamed into place.
public enum AtomicFile {
    /// A name beside `path` that no other process or write uses: `.<name>.ferry-<pid>-<random>`.
    public static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let random = UInt64.random(in: 0...UInt64.max)
        return String(path[..<slash]) + ".\(path[slash...]).ferry-\(getpid())-\(String(random, radix: 16))"
    }

    /// Writes `bytes` to `path` atomically (replacing what is there).
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("create", temporary) }
        do {
            try Array(bytes).withUnsafeBytes { try writeAll(fd, $0, subject: temporary) }
            guard fsync(fd) == 0 else { throw SystemError("fsync", temporary) }
            close(fd)
            try rename(temporary, to: path)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// `rename(2)`, as a throwing call.
    public static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw SystemError("rename", "\(from) to \(to)") }
    }

    /// Flushes a directory's entries (after a rename into it) to disk.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("fsync", path) }
    }
}
