import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that appear whole or not at all: written under a temporary name unique to this
/// process and this write, flushed to disk, then renamed into place.
public enum AtomicFile {
    /// A name beside `path` that no other process or write uses:
    /// `.<name>.ferry-<host>-<pid>-<random>`. The host and process say whose it is, so a
    /// later run can tell a dead run's leftovers from a live writer's file.
    public static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let random = UInt64.random(in: 0...UInt64.max)
        return String(path[..<slash]) + ".\(path[slash...]).ferry-\(hostTag)-\(getpid())-\(String(random, radix: 16))"
    }

    /// This machine's name, made safe for a file name, and its process-ID namespace:
    /// containers sharing a host name and a cache folder each count their own processes,
    /// so one must not take the other's live writer for a dead one.
    static let hostTag: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let safe = name.map { $0.isLetter || $0.isNumber || $0 == "." ? $0 : "_" }
        return (safe.isEmpty ? "host" : String(safe)) + (pidNamespace.map { "_ns\($0)" } ?? "")
    }()

    /// The inode of this process's PID namespace (`/proc/self/ns/pid` is `pid:[N]`).
    private static var pidNamespace: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/self/ns/pid", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let link = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let digits = link.filter(\.isNumber)
        return digits.isEmpty ? nil : digits
    }

    /// Removes temporary files in `directory` left by runs that died (SIGKILL, a crash, a
    /// power cut): those of this host (and PID namespace) whose process is gone, and any
    /// older than a day (another machine's or container's, on a shared folder). Live
    /// writers' files are never touched.
    /// Returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String, now: Date = Date()) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { name in
            guard name.hasPrefix("."), let marker = name.range(of: ".ferry-", options: .backwards) else { return false }
            let fields = name[marker.upperBound...].split(separator: "-")
            guard fields.count == 3, let pid = Int32(fields[1]) else { return false }
            let path = directory + "/" + name
            let mine = fields[0] == hostTag
            let dead = mine && kill(pid, 0) != 0 && errno == ESRCH
            var info = stat()
            let old = stat(path, &info) == 0 && now.timeIntervalSince1970 - Double(info.st_mtim.tv_sec) > 86_400
            return (dead || (!mine && old)) && unlink(path) == 0
        }
    }

    /// Writes `bytes` to `path` atomically (replacing what is there).
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws {
        let temporary = try writeTemporary(bytes, for: path, sync: true)
        do { try rename(temporary, to: path) } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Writes `bytes` to a new temporary file beside `path`, flushed to disk when `sync`
    /// (else the caller makes it durable before renaming it into place), and returns
    /// the temporary's name.
    public static func writeTemporary(_ bytes: some Collection<UInt8>, for path: String, sync: Bool) throws -> String {
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("create", temporary) }
        defer { close(fd) }
        do {
            try Array(bytes).withUnsafeBytes { try writeAll(fd, $0, subject: temporary) }
            guard !sync || fsync(fd) == 0 else { throw SystemError("fsync", temporary) }
            return temporary
        } catch {
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
