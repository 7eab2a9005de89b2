#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unpacks a NAR into a new file-system tree at `target`, as `nix-store --restore` does.
///
/// It can never write outside `target`: every entry is created relative to an open
/// descriptor of its parent directory, with `O_NOFOLLOW` and `O_EXCL`, from names the
/// parser has already checked (no `/`, `.`, `..`, NUL, no duplicates). `target` itself
/// must not exist yet.
public struct NarRestorer: NarVisitor {
    private let target: String
    /// Open descriptors of the directories on the way to the current entry; [0] is the root.
    private var directories: [Int32] = []
    private var file: Int32 = -1
    private var fileExecutable = false
    private var filePath = NarEntryPath()

    public init(target: String) {
        self.target = target
    }

    private func shown(_ path: NarEntryPath) -> String {
        path.isRoot ? target : target + path.description
    }

    /// Closes what is still open; call it after the parse, whether it succeeded or not.
    public mutating func closeAll() {
        if file >= 0 { close(file); file = -1 }
        for fd in directories { close(fd) }
        directories.removeAll()
    }

    /// The descriptor of `path`'s parent directory, after closing those of finished siblings.
    private mutating func parent(of path: NarEntryPath) -> Int32 {
        while directories.count > path.depth { close(directories.removeLast()) }
        return directories.last!
    }

    public mutating func directory(at path: NarEntryPath) throws {
        let fd: Int32
        if path.isRoot {
            guard mkdir(target, 0o777) == 0 else { throw SystemError("mkdir", target) }
            fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        } else {
            let parent = parent(of: path)
            fd = try withCString(path.name!) { name in
                guard mkdirat(parent, name, 0o777) == 0 else { throw SystemError("mkdir", shown(path)) }
                return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
        }
        guard fd >= 0 else { throw SystemError("open", shown(path)) }
        directories.append(fd)
    }

    public mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        if path.isRoot {
            file = open(target, flags, 0o666)
        } else {
            let parent = parent(of: path)
            file = withCString(path.name!) { openat(parent, $0, flags, 0o666) }
        }
        guard file >= 0 else { throw SystemError("create", shown(path)) }
        fileExecutable = executable
        filePath = path
    }

    public mutating func fileContents(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(file, bytes, subject: shown(filePath))
    }

    public mutating func endOfFile() throws {
        defer { close(file); file = -1 }
        if fileExecutable {
            var st = stat()
            guard fstat(file, &st) == 0, fchmod(file, st.st_mode | 0o111) == 0 else {
                throw SystemError("chmod", shown(filePath))
            }
        }
    }

    public mutating func symlink(at path: NarEntryPath, target linkTarget: [UInt8]) throws {
        let result: Int32
        if path.isRoot {
            result = withCString(linkTarget) { symlinkAt($0, target) }
        } else {
            let parent = parent(of: path)
            result = withCString(linkTarget) { t in withCString(path.name!) { symlinkat(t, parent, $0) } }
        }
        guard result == 0 else { throw SystemError("symlink", shown(path)) }
    }
}

/// `symlink(2)`, out of reach of the visitor method of the same name.
private func symlinkAt(_ linkTarget: UnsafePointer<CChar>, _ path: String) -> Int32 {
    symlink(linkTarget, path)
}
