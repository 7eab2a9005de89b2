import FerryCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A binary cache's files in a local folder. Every file appears by `rename(2)` after an
/// `fsync`, and the folder is synced after a NAR arrives; a NAR's spool is a temporary
/// file in `nar/` itself, so storing it is a rename, never a copy.
public struct FileStorage: CacheStorage {
    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var description: String { "file://\(root)" }
    public var spoolMemory: Int { 0 }
    public var spoolDirectory: String { root + "/nar" }

    /// Creates the cache folder and its `nar/`,
    /// and removes the narinfo and listing temporaries of runs that died.
    public func prepareForWriting() async throws {
        for dir in [root, root + "/nar"] {
            guard mkdir(dir, 0o755) == 0 || currentErrno() == EEXIST else { throw SystemError("mkdir", dir) }
        }
        AtomicFile.removeStaleTemporaries(in: root)  // narinfos and listings; nar/ is the spool
    }

    public func read(_ key: String) async throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path(key)) else {
            if access(path(key), F_OK) == 0 { throw SystemError("read", path(key)) }
            return nil
        }
        return Array(data)
    }

    public func exists(_ key: String) async throws -> Bool { access(path(key), F_OK) == 0 }

    public func download(_ key: String, into sink: (ArraySlice<UInt8>) async throws -> Void) async throws {
        let fd = open(path(key), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if currentErrno() == ENOENT { throw CacheStorageError.notFound(key, in: description) }
            throw SystemError("open", path(key))
        }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try readSome(fd, into: $0, subject: path(key)) }
            if n == 0 { return }
            try await sink(buffer[0..<n])
        }
    }

    public func write(_ key: String, _ bytes: [UInt8], contentType: String) async throws {
        try AtomicFile.write(bytes, to: path(key))
    }

    public func store(_ spool: Spool, as key: String, contentType: String) async throws {
        let final = path(key)
        if let temporary = spool.takeFile() {
            do { try AtomicFile.rename(temporary, to: final) } catch { unlink(temporary); throw error }
        } else {
            try AtomicFile.write(spool.bytesInMemory ?? [], to: final)
        }
        try AtomicFile.syncDirectory(spoolDirectory)
    }

    public func close() async {}

    private func path(_ key: String) -> String { "\(root)/\(key)" }
}

extension FileStorage {
    public static let plugin = Plugin<any CacheStorage>(
        kind: .storage, name: "file", summary: "a binary cache in a folder, as Nix's file:// store",
        options: [PluginOption("path", "path", "the cache folder (file:///srv/cache gives /srv/cache)")],
        schemes: ["file"],
        urlValues: { url throws(ConfigError) in
            var values = try Plugin<any CacheStorage>.queryValues(url)
            guard !url.path.isEmpty else { throw ConfigError("store URL '\(url)'", "a file:// URL needs a folder: file:///srv/cache") }
            values["path"] = .string(url.path)
            return values
        }
    ) { settings, _ in
        FileStorage(root: expandingTilde(try settings.required("path", "which folder holds the cache?")))
    }
}
