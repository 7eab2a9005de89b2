import ArgumentParser
import FerryBuiltinPlugins
import FerryCore

/// `ferry mirror`: paths from one binary cache into another store or cache, checked
/// against trusted keys on the way in, signed on the way out.
struct Mirror: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy store paths from a binary cache (or a store) to another cache or store.",
        discussion: """
            --from is a binary cache: file:///dir, http(s)://host/prefix, or
            s3://bucket?region=…&endpoint=host:port&scheme=http, with credentials
            found where the AWS SDKs look (AWS_* variables, the ~/.aws profile's
            role, keys or credential_process (profile=NAME), a web identity, the
            container or instance role); a Nix store (local, ssh://) works as well.
            --to is any store URL copy-closure takes; secret-key=FILE adds Ferry's
            signature and keeps the ones the paths have.

            From a binary cache, every path needs a signature by a
            --trusted-public-key, written as in nix.conf
            (cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=); a path
            without one is refused before a byte is copied (from a store, only when
            keys are given). --no-check-sigs copies without checking. NarHash and
            NarSize are checked in every case.
            When --to wants the compression the source has, the compressed bytes
            are copied as they are.

            Only the paths named are copied unless --closure is given; a path whose
            references are neither named nor at the destination is refused, as Nix
            refuses it. --shard I/N keeps the paths whose hash falls in shard I of N:
            N machines given 1/N … N/N mirror one list between them, each path once,
            without talking (a reference in another shard counts as named).

            Exit status: 0 when every path is at the destination, 1 when some
            failed, 2 for usage or configuration errors, 128+N after signal N.

            Example:
              ferry mirror --from https://cache.example.org \\
                --trusted-public-key cache.example.org-1:… --paths-from wanted.txt \\
                --to 's3://mirror?region=eu-west-1&secret-key=/etc/ferry/mirror.sec'
            """)

    @Option(help: "The binary cache (or store) to copy from.")
    var from: String

    @Option(help: "The cache or store to copy to.")
    var to: String

    @Flag(help: "Copy everything the paths reference too.")
    var closure = false

    @Option(help: ArgumentHelp("Copy only the paths in shard I of N, such as 2/3.", valueName: "I/N"))
    var shard: String?

    @OptionGroup var options: RunOptions

    @Argument(help: "Store paths to copy.")
    var paths: [String] = []

    func validate() throws {
        if paths.isEmpty && options.pathsFrom == nil { throw ValidationError("name the paths to copy, or give --paths-from FILE") }
    }

    func run() async throws {
        var selection = PathSelection(closure: closure)
        do {
            selection.shard = try shard.map { text throws(ConfigError) in try Shard(parsing: text) }
        } catch {
            throw RunReporter(quiet: options.quiet, json: options.json).stop(error)
        }
        try await runPipeline({
            var raw = PipelineConfig.Raw.commandLine(memory: nil, jobs: nil)
            try raw.setSource(url: from, registry: .builtIn)
            try raw.setBackend(url: to, registry: .builtIn)
            return raw
        }, paths: paths, selection: selection, options: options)
    }
}
