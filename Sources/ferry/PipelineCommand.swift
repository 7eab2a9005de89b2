import ArgumentParser
import FerryBuiltinPlugins
import FerryCore
import Foundation
import Logging

/// Options every command that runs a pipeline shares.
struct RunOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log more: -v for each path, -vv for debugging.")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Print only errors and the summary.")
    var quiet = false

    @Option(name: .customLong("trusted-public-key"),
            help: ArgumentHelp("A key whose signature makes a path acceptable, NAME:BASE64 as in nix.conf's trusted-public-keys (repeatable).",
                               valueName: "key"))
    var trustedPublicKeys: [String] = []

    @Flag(name: .customLong("no-check-sigs"), help: "Copy paths without checking their signatures.")
    var noCheckSigs = false

    @Option(help: ArgumentHelp("Attempts per path and per request when a failure may pass (connection lost, timeout, HTTP 5xx or 429); 1 never retries (default 5).",
                               valueName: "n"))
    var retries: Int?

    @Option(help: ArgumentHelp("The first wait before a retry, doubling up to 15s, with jitter (default 1s).", valueName: "duration"))
    var retryDelay: String?

    /// Adds the trust and retry flags to a config's top level, where they override the file.
    func applyFlags(to raw: inout PipelineConfig.Raw) {
        if let retries { raw.topLevel.values["retry-attempts"] = .integer(retries) }
        if let retryDelay { raw.topLevel.values["retry-delay"] = .string(retryDelay) }
        if !trustedPublicKeys.isEmpty {
            raw.topLevel.values["trusted-public-keys"] = .array(trustedPublicKeys.map(ConfigValue.string))
        }
        if noCheckSigs { raw.topLevel.values["check-signatures"] = .bool(false) }
    }

    var logLevel: Logger.Level {
        if quiet { return .error }
        switch verbose {
        case 0: return .notice
        case 1: return .info
        default: return .debug
        }
    }
}

/// Runs an assembled pipeline over `paths`, prints what happens on stderr and the
/// summary at the end, and exits 0 (all there), 1 (some failed) or 2 (bad config).
func runPipeline(_ makeRaw: () throws -> PipelineConfig.Raw, paths: [String], selection: PathSelection = PathSelection(),
                 options: RunOptions) async throws {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = options.logLevel
        return handler
    }
    let logger = Logger(label: "ferry")
    let config: PipelineConfig
    let pipeline: Pipeline
    let storePaths: [StorePath]
    do {
        var raw = try makeRaw()
        options.applyFlags(to: &raw)
        config = try PipelineConfig.build(raw)
        storePaths = try (config.paths + paths).map { try StorePath(resolving: $0) }
        guard !storePaths.isEmpty else { throw ValidationError("no store paths to copy: name them on the command line or in `paths`") }
        pipeline = try await Pipeline.assemble(config, registry: .builtIn, logger: logger)
    } catch let error as ConfigError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as StorePathError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
    let quiet = options.quiet
    let summary: RunSummary
    do {
        summary = try await pipeline.run(paths: storePaths, selection: selection) { event in
            if !quiet { report(event) }
        }
    } catch let error as ConfigError {
        printError(error.description)
        throw ExitCode(2)
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
    printError(summary.rendered)
    if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
}

/// One line on stderr per path, as the copy goes.
private func report(_ event: CopyEvent) {
    switch event {
    case .planned(let closure, let toCopy, let skipped, let bytes):
        printError("copying \(toCopy) of \(closure) paths (\(skipped) already there), \(ByteSize.format(Int(bytes))) of NARs")
    case .stored(let path, let narSize, let fileSize, let seconds):
        let written = fileSize.map { " → \(ByteSize.format(Int($0)))" } ?? ""
        printError("copied \(path) (\(ByteSize.format(Int(narSize)))\(written), \(String(format: "%.2f", seconds)) s)")
    case .failed(let path, let error):
        printError("failed \(path): \(error)")
    case .retrying(let path, let attempt, let error, let wait):
        printError("retrying \(path) in \(String(format: "%.1f", Double(wait.milliseconds) / 1000)) s (attempt \(attempt) failed: \(error))")
    case .skipped, .started, .published, .finished:
        break
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
