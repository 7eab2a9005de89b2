import ArgumentParser
import FerryBuiltinPlugins
import FerryCore

/// `ferry run`: a pipeline from a config file, the form a queue runner or cron job keeps.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the pipeline a TOML config file describes.",
        discussion: """
            The file has top-level keys (\(PipelineConfig.topLevelKeys.joined(separator: ", "))),
            and the tables [source], [limiter] (mandatory), [codec] and [backend];
            `ferry plugins` lists each plugin's keys. Paths given here, and those
            --paths-from lists, are copied besides the file's `paths`.

            Exit status as for copy-closure: 0 when every path is at the destination,
            1 when some failed, 2 for configuration errors, 128+N after signal N.
            """)

    @Argument(help: "The pipeline config file.")
    var config: String

    @Argument(help: "More store paths to copy.")
    var paths: [String] = []

    @OptionGroup var options: RunOptions

    // Not taken, but named: left unknown, ArgumentParser would answer "did you mean --jobs?".
    @Option(help: .hidden) var from: String?
    @Option(help: .hidden) var to: String?

    func validate() throws {
        if from != nil || to != nil {
            throw ValidationError("run takes its source and destination from the file; for URLs on the command line, use copy-closure --config \(config) --from … --to …")
        }
    }

    func run() async throws {
        try await runPipeline({ try PipelineConfig.raw(file: config) }, paths: paths, options: options)
    }
}
