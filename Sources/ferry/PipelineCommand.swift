import ArgumentParser
import FerryBuiltinPlugins
import FerryCore
import Foundation
import Logging

/// Options every command that runs a pipeline shares.
struct RunOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read store paths from FILE, one per line (- for standard input; # starts a comment).",
                               valueName: "file"))
    var pathsFrom: String?

    @Flag(name: .shortAndLong, help: "Say more: -v adds each path's start, skip, wait for memory and publication; -vv debug logs too.")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Print only errors and the summary.")
    var quiet = false

    // `.unconditional` here and for --retries: `--jobs -1` is a number below 1, not a flag.
    @Option(parsing: .unconditional, help: "Store paths in flight at once (default: 4, or the config's jobs).")
    var jobs: Int?

    @Option(help: "The memory budget, such as 512MiB or 4GiB (default: 1GiB, or the config's [limiter]).")
    var memoryLimit: String?

    @Flag(help: "Write events to stdout as JSON, one object per line (README lists them); everything else goes to stderr.")
    var json = false

    @Option(name: .customLong("trusted-public-key"),
            help: ArgumentHelp("A key whose signature makes a path acceptable, NAME:BASE64 as in nix.conf's trusted-public-keys (repeatable).",
                               valueName: "key"))
    var trustedPublicKeys: [String] = []

    @Flag(name: .customLong("no-check-sigs"), help: "Copy paths without checking their signatures.")
    var noCheckSigs = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Attempts per path and per request when a failure may pass (connection lost, timeout, HTTP 5xx or 429); 1 never retries (default 5).",
                               valueName: "n"))
    var retries: Int?

    @Option(help: ArgumentHelp("The first wait before a retry, doubling up to 15s, with jitter (default 1s).", valueName: "duration"))
    var retryDelay: String?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be 1 or more") }
        if let retries, retries < 1 { throw ValidationError("--retries must be 1 (no retry) or more") }
        if quiet && verbose > 0 { throw ValidationError("--quiet and --verbose ask for opposite things; give one") }
        if noCheckSigs && !trustedPublicKeys.isEmpty {
            throw ValidationError("--no-check-sigs and --trusted-public-key ask for opposite things; give one")
        }
    }

    /// Adds the flags to a config, where they override the file.
    func applyFlags(to raw: inout PipelineConfig.Raw) {
        raw.override(memory: memoryLimit, jobs: jobs)
        if let retries { raw.topLevel.values["retry-attempts"] = .integer(retries) }
        if let retryDelay { raw.topLevel.values["retry-delay"] = .string(retryDelay) }
        if !trustedPublicKeys.isEmpty {
            raw.topLevel.values["trusted-public-keys"] = .array(trustedPublicKeys.map(ConfigValue.string))
        }
        if noCheckSigs { raw.topLevel.values["check-signatures"] = .bool(false) }
    }

    /// The paths `--paths-from` lists; blank lines and `#` comments are skipped. An error
    /// names the file and the line.
    func listedPaths() throws(ConfigError) -> [StorePath] {
        guard let file = pathsFrom else { return [] }
        let text: String
        do {
            text = file == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : try readTextFile(file)
        } catch {
            throw ConfigError("--paths-from \(file)", "cannot read the list: \(error)")
        }
        var paths: [StorePath] = []
        for (number, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let entry = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            guard !entry.isEmpty else { continue }
            do {
                paths.append(try StorePath(resolving: entry))
            } catch {
                throw ConfigError("--paths-from \(file) line \(number + 1)", "\(error)")
            }
        }
        return paths
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
/// summary at the end, and exits 0 (all there), 1 (some failed), 2 (bad config) or
/// 128 + N after signal N. Signals are handled from the start: Ctrl-C while a slow cache
/// is asked for its nix-cache-info stops the run as cleanly as during a copy.
func runPipeline(_ makeRaw: () throws -> PipelineConfig.Raw, paths: [String], selection: PathSelection = PathSelection(),
                 options: RunOptions) async throws {
    // A reader of the output that goes away (`| head`, a log pipeline restarted) costs the
    // output, not the copy: writes then fail with EPIPE, which the reporter drops.
    signal(SIGPIPE, SIG_IGN)
    let reporter = RunReporter(quiet: options.quiet, json: options.json, detail: options.verbose > 0)
    LoggingSystem.bootstrap { label in ReporterLogHandler(label: label, reporter: reporter, logLevel: options.logLevel) }
    let logger = Logger(label: "ferry")
    guard let (config, storePaths) = try configAndPaths(makeRaw, paths: paths, options: options, reporter: reporter) else { return }
    let run = Task {
        let pipeline = try await Pipeline.assemble(config, registry: .builtIn, logger: logger)
        let ticker = reporter.tick(waiting: { await pipeline.limiter.statistics().currentlyWaiting },
                                   streamed: pipeline.streamed)
        defer { ticker?.cancel() }
        return try await pipeline.run(paths: storePaths, selection: selection) { reporter.handle($0) }
    }
    let stop = StopSignals { first in
        run.cancel()
        if first { reporter.log("stopping: the copies in flight are aborted; the same signal again, \(StopSignals.repeatAfter) or more from now, kills at once") }
    }
    var summary: RunSummary
    do {
        summary = try await run.value
    } catch {
        if let signal = stop.received { throw reporter.stop(interruptedBy: signal) }
        throw reporter.stop(error)
    }
    summary.stopSignal = summary.interrupted ? stop.received : nil
    reporter.finish(summary)
    if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
}

/// The config and the store paths to copy, or nil when `--paths-from` listed none (a
/// run with nothing to do, reported as such). A bad config or path is reported and thrown
/// as its exit code.
private func configAndPaths(_ makeRaw: () throws -> PipelineConfig.Raw, paths: [String], options: RunOptions,
                  reporter: RunReporter) throws -> (PipelineConfig, [StorePath])? {
    do {
        var raw = try makeRaw()
        options.applyFlags(to: &raw)
        let config = try PipelineConfig.build(raw)
        let storePaths = try (config.paths + paths).map { try StorePath(resolving: $0) } + options.listedPaths()
        guard storePaths.isEmpty else { return (config, storePaths) }
        guard let list = options.pathsFrom else {
            throw ValidationError("no store paths to copy: name them on the command line, in --paths-from or in `paths`")
        }
        // An empty list is a run with nothing to do, as a script that makes one expects.
        reporter.finish("nothing to copy: the list in --paths-from \(list) is empty")
        reporter.finish(RunSummary())
        return nil
    } catch let error as ValidationError {
        throw error
    } catch {
        throw reporter.stop(error)
    }
}

extension RunReporter {
    /// Reports an error that ends the run and gives the exit code for it: 2 for the
    /// config, bad store paths and usage, 1 for everything else.
    func stop(_ error: any Error) -> ExitCode {
        let usage = error is ConfigError || error is StorePathError
        let code: Int32 = usage ? 2 : 1
        fail("\(error)", exitCode: code)
        return ExitCode(code)
    }

    /// Reports a run stopped by `signal` before it could copy (while it planned, or
    /// opened the source or destination): exit code 128 + the signal.
    func stop(interruptedBy signal: Int32) -> ExitCode {
        fail("interrupted before any copy began: no path was copied", exitCode: 128 + signal)
        return ExitCode(128 + signal)
    }
}
