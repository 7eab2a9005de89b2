import ArgumentParser
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// `ferry nar …`: NAR files by hand, as `nix nar` and `nix-store --dump/--restore`.
struct Nar: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, unpack and list NAR archives.",
        subcommands: [Dump.self, Restore.self, List.self])

    struct Dump: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the NAR of a file-system path to standard output (as 'nix-store --dump').")

        @Argument(help: "A file, directory or symlink; a symlink is archived, not followed.")
        var path: String

        func run() throws {
            try NarDumper.dump(path: path) { try writeAll(1, $0, subject: "standard output") }
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unpack a NAR from standard input into a new path (as 'nix-store --restore').",
            discussion: "The NAR is checked as it streams; on a bad archive nothing outside DIR is touched, and DIR is left as far as it got.")

        @Argument(help: "Where to unpack; it must not exist yet.")
        var dir: String

        func run() throws {
            var restorer = NarRestorer(target: dir)
            defer { restorer.closeAll() }
            try parseNar(fd: 0, name: "standard input", visitor: &restorer)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the entries of a NAR file, with types, sizes and symlink targets.")

        @Argument(help: "A NAR file ('-' for standard input).")
        var narFile: String

        func run() throws {
            let fd = narFile == "-" ? 0 : open(narFile, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemError("open", narFile) }
            defer { if fd != 0 { close(fd) } }
            var lister = NarLister()
            try parseNar(fd: fd, name: narFile, visitor: &lister)
        }
    }
}

/// Prints one line per NAR entry: mode, size, path (and a symlink's target).
struct NarLister: NarVisitor {
    mutating func directory(at path: NarEntryPath) throws {
        line("dr-xr-xr-x", size: nil, path)
    }
    mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
        line(executable ? "-r-xr-xr-x" : "-r--r--r--", size: size, path)
    }
    mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws {
        line("lrwxrwxrwx", size: nil, path, target: String(decoding: target, as: UTF8.self))
    }
    private func line(_ mode: String, size: UInt64?, _ path: NarEntryPath, target: String? = nil) {
        let sizeText = size.map(String.init) ?? ""
        let padded = String(repeating: " ", count: max(0, 12 - sizeText.count)) + sizeText
        print("\(mode) \(padded) \(path)" + (target.map { " -> \($0)" } ?? ""))
    }
}

/// Feeds a whole NAR from `fd` to `visitor`; trailing bytes after the NAR are an error.
func parseNar(fd: Int32, name: String, visitor: inout some NarVisitor) throws {
    var parser = NarParser()
    var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try readSome(fd, into: $0, subject: name) }
        if n == 0 { break }
        let used = try buffer.withUnsafeBytes { try parser.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n]), to: &visitor) }
        if used < n { throw NarFormatError(offset: parser.offset, reason: "data follows the end of the NAR in \(name)") }
    }
    try parser.finish()
}
