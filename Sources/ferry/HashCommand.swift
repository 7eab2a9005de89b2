import ArgumentParser
import FerryCore
#if canImport(Glibc)
import Glibc
#endif

/// `ferry hash …`: hashes as Nix computes them (`nix hash path`, `nix hash file`).
struct HashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Compute the SHA-256 hashes Nix uses.",
        subcommands: [PathHash.self, FileHash.self])

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case nix32, base16, base64, sri
        var encoding: Hash.Encoding {
            switch self {
            case .nix32: .nix32
            case .base16: .base16
            case .base64: .base64
            case .sri: .sri
            }
        }
    }

    struct Options: ParsableArguments {
        @Option(help: "How to print the hash: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
        var format: Format = .nix32
    }

    struct PathHash: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "path",
            abstract: "Print the NarHash of a file-system path: the SHA-256 of its NAR, as 'sha256:<nix32>'.")

        @OptionGroup var options: Options
        @Argument(help: "A file, directory or symlink.") var path: String

        func run() throws {
            var hasher = HashingCounter()
            try NarDumper.dump(path: path) { hasher.update($0) }
            print(hasher.finalize().rendered(options.format.encoding))
        }
    }

    struct FileHash: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "file",
            abstract: "Print the SHA-256 of a file's bytes (a FileHash), as 'sha256:<nix32>'.")

        @OptionGroup var options: Options
        @Argument(help: "A file ('-' for standard input).") var file: String

        func run() throws {
            let fd = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw SystemError("open", file) }
            defer { if fd != 0 { close(fd) } }
            var hasher = HashingCounter()
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try readSome(fd, into: $0, subject: file) }
                if n == 0 { break }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            print(hasher.finalize().rendered(options.format.encoding))
        }
    }
}
