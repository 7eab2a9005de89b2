import Foundation
import Testing

/// The real programs integration tests talk to, and the rule for when they are missing:
/// outside CI the test is skipped and says why; with CI=true it runs, and fails.
enum Peers {
    static let inCI = ProcessInfo.processInfo.environment["CI"] == "true"

    static func installed(_ program: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
            || FileManager.default.isExecutableFile(atPath: program)
    }

    static let nix: any TestTrait & SuiteTrait = requiring("nix-store")

    /// Enabled when `program` is installed, or always in CI (where its absence then fails the test).
    static func requiring(_ program: String) -> ConditionTrait {
        .enabled(if: installed(program) || inCI, "\(program) is not installed: skipped outside CI (run `make test` to install it)")
    }
}

/// The environment real Nix runs in for the tests: no daemon, no sandbox, `nix` commands on.
let nixEnvironment = [
    "NIX_REMOTE": "local",
    "NIX_CONFIG": "sandbox = false\nexperimental-features = nix-command",
]

/// What a finished command printed.
struct CommandOutput {
    let status: Int32
    let stdout: Data
    let stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
    var lines: [String] { text.split(separator: "\n").map(String.init) }
}

struct CommandFailed: Error, CustomStringConvertible {
    let command: [String]
    let output: CommandOutput
    var description: String { "\(command.joined(separator: " ")) exited \(output.status): \(output.stderr)" }
}

/// Runs a command to completion; throws unless it exits 0 (or `check` is false).
/// Output goes through temporary files, so no pipe can fill up and stall the command.
@discardableResult
func run(_ command: [String], stdin: Data? = nil, environment: [String: String] = nixEnvironment,
         check: Bool = true) throws -> CommandOutput {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let files = ["in", "out", "err"].map { dir.path + "/" + $0 }
    try (stdin ?? Data()).write(to: URL(fileURLWithPath: files[0]))
    for file in files[1...] { _ = FileManager.default.createFile(atPath: file, contents: nil) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardInput = FileHandle(forReadingAtPath: files[0])
    process.standardOutput = FileHandle(forWritingAtPath: files[1])
    process.standardError = FileHandle(forWritingAtPath: files[2])
    try process.run()
    process.waitUntilExit()
    let output = CommandOutput(status: process.terminationStatus,
                               stdout: try Data(contentsOf: URL(fileURLWithPath: files[1])),
                               stderr: try String(contentsOfFile: files[2], encoding: .utf8))
    if check && output.status != 0 { throw CommandFailed(command: command, output: output) }
    return output
}

/// The `ferry` binary built beside the test bundle.
let ferryBinary: String = {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("ferry").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return ".build/debug/ferry"
}()

/// A fresh directory under the temporary folder, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "ferry-it-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
