import CLinux
import FerryCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A binary cache's files in a local folder. Every file appears by `rename(2)` once its
/// contents are on disk; a NAR's spool is a temporary file in `nar/` itself, so storing
/// it is a rename, never a copy.
///
/// Durability comes in batches, as a database commits a group: a stored NAR waits as a
/// temporary until the next narinfos are written, and then one `syncfs(2)` flushes the
/// NARs and the narinfos together, the NARs are renamed into `nar/` and that folder
/// synced, and only then do the narinfos appear, their folder synced last. A crash at any
/// point leaves either a whole narinfo whose NAR is whole, or no narinfo. Three flushes
/// per batch (one `syncfs`, two folders) instead of three per path: for 2 000 small paths
/// that is the difference between waiting on the disk and not (Nix writes a folder cache
/// with no flush at all).
public struct FileStorage: CacheStorage {
    public let root: String
    /// NARs stored but not yet renamed into place.
    private let waiting = WaitingNars()

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var description: String { "file://\(root)" }
    public var spoolMemory: Int { 0 }
    public var spoolDirectory: String { root + "/nar" }
    public var spoolWriteback: SpoolWriteback? {
        { fd, offset, length in _ = sync_file_range(fd, offset, length, UInt32(FERRY_SYNC_FILE_RANGE_WRITE)) }
    }

    /// Creates the cache folder (and the folders above it), its `nar/`, and `log/` and
    /// `realisations/` empty, as Nix does, and `extraFolders`; removes the temporaries of
    /// runs that died from all but `nar/`, which is the spool's. A folder that cannot be
    /// made is a configuration error: the URL names a place Ferry may not write.
    public func prepareForWriting(extraFolders: [String]) async throws {
        do {
            var folder = root.hasPrefix("/") ? "" : "."
            for component in root.split(separator: "/") {
                folder += "/\(component)"
                try makeFolder(folder)
            }
            for extra in ["nar", "log", "realisations"] + extraFolders {
                try makeFolder(path(extra))
            }
        } catch {
            throw ConfigError(description, "cannot create the cache's folders: \(error)")
        }
        for kept in [root] + extraFolders.map(path) {
            AtomicFile.removeStaleTemporaries(in: kept)
        }
    }

    private func makeFolder(_ folder: String) throws(SystemError) {
        if mkdir(folder, 0o755) == 0 { return }
        let error = currentErrno()
        guard error == EEXIST else { throw SystemError("mkdir", folder, errno: error) }
        // Something is there already: only a folder, or a link to one, will do.
        var status = stat()
        guard stat(folder, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw SystemError("mkdir", folder, errno: ENOTDIR)
        }
    }

    public func read(_ key: String) async throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path(key)) else {
            if access(path(key), F_OK) == 0 { throw SystemError("read", path(key)) }
            return nil
        }
        return Array(data)
    }

    public func exists(_ key: String) async throws -> Bool {
        waiting.contains(path(key)) || access(path(key), F_OK) == 0
    }

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

    /// Takes the spool's file, to be renamed to `key` by the next `write(_ files:)`.
    public func store(_ spool: Spool, as key: String, contentType: String) async throws {
        if let temporary = spool.takeFile() {
            waiting.add(temporary, as: path(key))
        } else {
            try AtomicFile.write(spool.bytesInMemory ?? [], to: path(key))
        }
    }

    /// Writes the files as temporaries, then makes them and every NAR stored before the
    /// call durable and visible, in that order (see the type's comment).
    public func write(_ files: [CacheFile]) async -> [String: any Error] {
        var failures: [String: any Error] = [:]
        var written: [(file: CacheFile, temporary: String)] = []
        for file in files {
            do { written.append((file, try AtomicFile.writeTemporary(file.bytes, for: path(file.key), sync: false))) } catch {
                failures[file.key] = error
            }
        }
        let nars = waiting.all()
        let pending = written
        do {
            let notRenamed = try await onOwnThread { () throws -> [String: any Error] in
                try syncFileSystem()
                try place(nars)
                var notRenamed: [String: any Error] = [:]
                for (file, temporary) in pending {
                    do {
                        if let nar = file.requires, let lost = waiting.lost(path(nar)) { throw lost }
                        try AtomicFile.rename(temporary, to: path(file.key))
                    } catch {
                        unlink(temporary)
                        notRenamed[file.key] = error
                    }
                }
                for folder in Set(pending.map { parent(of: path($0.file.key)) }) { try AtomicFile.syncDirectory(folder) }
                return notRenamed
            }
            failures.merge(notRenamed) { first, _ in first }
        } catch {
            for (file, temporary) in written where failures[file.key] == nil {
                unlink(temporary)
                failures[file.key] = error
            }
        }
        return failures
    }

    /// Renames waiting NARs into `nar/`, each leaving the waiting list once it is there,
    /// and syncs the folder. A NAR that cannot be renamed (its temporary is gone) is lost:
    /// the files that require it fail, in this batch or a later one, and no other does.
    private func place(_ nars: [(final: String, temporary: String)]) throws {
        guard !nars.isEmpty else { return }
        for nar in nars {
            do {
                try AtomicFile.rename(nar.temporary, to: nar.final)
                waiting.renamed(nar.final)
            } catch {
                unlink(nar.temporary)
                waiting.lose(nar.final, error)
            }
        }
        try AtomicFile.syncDirectory(spoolDirectory)
    }

    /// Flushes everything written to the cache's file system.
    private func syncFileSystem() throws {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", root) }
        defer { Glibc.close(fd) }
        guard syncfs(fd) == 0 else { throw SystemError("syncfs", root) }
    }

    /// Removes the NARs that no narinfo came for (their paths failed).
    public func close() async { waiting.removeAll() }

    private func parent(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    }

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
            // file://srv/cache would otherwise write to /cache, taking `srv` for a host.
            guard url.host == nil else {
                throw ConfigError("store URL '\(url)'", "a file:// URL names its folder from the root, with three slashes: "
                                  + "file:///\(url.host!)\(url.path)")
            }
            values["path"] = .string(url.path)
            return values
        }
    ) { settings, _ in
        FileStorage(root: try settings.requiredPath("path", "which folder holds the cache?"))
    }
}

/// Stored NARs not yet renamed into place: their final path, and the temporary file
/// that holds them.
private final class WaitingNars: Sendable {
    private struct State {
        var nars: [String: String] = [:]
        /// NARs whose rename failed, with why; stored again, one is no longer lost.
        var lost: [String: any Error] = [:]
    }
    private let state = Mutex(State())

    /// A second copy of the same NAR (the same FileHash: the same bytes) is dropped.
    func add(_ temporary: String, as final: String) {
        let added = state.withLock { state in
            guard state.nars[final] == nil else { return false }
            state.nars[final] = temporary
            state.lost[final] = nil
            return true
        }
        if !added { unlink(temporary) }
    }

    func contains(_ final: String) -> Bool { state.withLock { $0.nars[final] != nil } }

    func all() -> [(final: String, temporary: String)] { state.withLock { $0.nars.map { ($0.key, $0.value) } } }

    func renamed(_ final: String) { _ = state.withLock { $0.nars.removeValue(forKey: final) } }

    func lose(_ final: String, _ error: any Error) {
        state.withLock { state in
            state.nars[final] = nil
            state.lost[final] = error
        }
    }

    func lost(_ final: String) -> (any Error)? { state.withLock { $0.lost[final] } }

    func removeAll() {
        for temporary in state.withLock({ state in defer { state.nars = [:] }; return Array(state.nars.values) }) { unlink(temporary) }
    }
}
