import ArgumentParser
import FerryBuiltinPlugins
import FerryCore

/// `ferry copy-closure`: the closure of some paths, from one store to another.
struct CopyClosure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy-closure",
        abstract: "Copy store paths and everything they reference to another store or a binary cache.",
        discussion: """
            Stores are named as Nix names them:
              local, local?root=/path, /path        a Nix store on this machine
              ssh://[user@]host[:port]?ssh-key=…     a Nix store on another machine
              file:///srv/cache?compression=zstd    a binary cache in a folder
              http(s)://host/prefix, s3://bucket?…  a binary cache over HTTP or in S3
            Binary-cache URLs take Nix's parameters: compression (zstd, xz, gzip,
            bzip2, lz4, none; default zstd), compression-level, parallel-compression,
            secret-key=FILE, write-nar-listing=1, index-debug-info=1; s3:// also
            narinfo-compression and ls-compression (br or any of those but none).

            Paths already at the destination are skipped; the rest are copied --jobs
            at a time within --memory-limit, and published references first.

            Exit status: 0 when every path is at the destination, 1 when some failed
            (each is named), 2 for usage or configuration errors, 128+N after signal N.

            Example:
              ferry copy-closure ./result \\
                --to 'file:///srv/cache?secret-key=/etc/nix/cache.sec'
            """)

    @Option(help: "The store to copy from.")
    var from = "local"

    @Option(help: "The store or binary cache to copy to.")
    var to: String?

    @Option(help: "A pipeline config file (TOML) to start from; --from and --to replace its [source] and [backend] whole (a note names the keys that are dropped), and the flags override it.")
    var config: String?

    @OptionGroup var options: RunOptions

    @Argument(help: "Store paths, or symlinks to them such as ./result.")
    var paths: [String] = []

    func validate() throws {
        if to == nil && config == nil { throw ValidationError("say where to copy to with --to URL (or a --config file)") }
    }

    func run() async throws {
        try await runPipeline({
            var raw = try config.map { try PipelineConfig.raw(file: $0) } ?? .commandLine(memory: nil, jobs: nil)
            var replaced: [(flag: String, table: PipelineConfig.Raw.Replaced?)] = []
            if config == nil || from != "local" || raw.tables["source"] == nil {
                replaced.append(("--from", try raw.setSource(url: from, registry: .builtIn)))
            }
            if let to { replaced.append(("--to", try raw.setBackend(url: to, registry: .builtIn))) }
            for case let (flag, table?) in replaced {
                printError("note: \(flag) replaces \(table.location), whose \(table.droppedKeys.joined(separator: ", ")) "
                           + "\(table.droppedKeys.count == 1 ? "is" : "are") not used; give \(table.droppedKeys.count == 1 ? "it" : "them") in the URL")
            }
            return raw
        }, paths: paths, options: options)
    }
}
