import Foundation

/// The environment real Nix runs in for the tests: no daemon, and the settings of
/// `scripts/nix.conf` (no sandbox, no build users, no substituters), as `make test` sets them.
public let nixEnvironment = [
    "NIX_REMOTE": "local",
    "NIX_CONFIG": nixConfig,
    // Every peer is on loopback: the machine's proxies must not be asked (empty is unset,
    // for Ferry as for curl). A test that wants a proxy names it.
    "http_proxy": "", "https_proxy": "", "HTTPS_PROXY": "", "all_proxy": "", "ALL_PROXY": "", "no_proxy": "", "NO_PROXY": "",
]

private let nixConfig: String = {
    let path = repositoryRoot + "/scripts/nix.conf"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        fatalError("cannot read \(path): the tests run Nix with its settings")
    }
    return text
}()

/// The checkout these tests were built from.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// What a finished command printed.
public struct CommandOutput: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: String

    public init(status: Int32, stdout: Data, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var text: String { String(decoding: stdout, as: UTF8.self) }
    public var lines: [String] { text.split(separator: "\n").map(String.init) }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public let command: [String]
    public let output: CommandOutput

    public init(command: [String], output: CommandOutput) {
        self.command = command
        self.output = output
    }

    public var description: String { "\(command.joined(separator: " ")) exited \(output.status): \(output.stderr)" }
}

/// Runs a command to completion; throws unless it exits 0 (or `check` is false).
/// Output goes through temporary files, so no pipe can fill up and stall the command.
@discardableResult
public func run(_ command: [String], stdin: Data? = nil, environment: [String: String] = nixEnvironment,
         check: Bool = true) throws -> CommandOutput {
    guard command.first == "nix" else { return try runOnce(command, stdin: stdin, environment: environment, check: check) }
    // Nix 2.8 now and then livelocks in libgc: `nix store verify` of a four-path cache was
    // seen with one thread spinning in GC_add_roots (from its coroutine stacks) for 17
    // minutes. A `nix` command gets a time limit; when that strikes, it runs once more.
    let limited = ["timeout", "-s", "KILL", String(nixTimeLimit)] + command
    var output = try runOnce(limited, stdin: stdin, environment: environment, check: false)
    if output.status == 128 + SIGKILL {
        FileHandle.standardError.write(Data("\(command.joined(separator: " ")): killed after \(nixTimeLimit) s, running it again\n".utf8))
        output = try runOnce(limited, stdin: stdin, environment: environment, check: false)
    }
    if check && output.status != 0 { throw CommandFailed(command: command, output: output) }
    return output
}

/// Seconds a `nix` command of a test may take; the slowest take a few.
private let nixTimeLimit = 120

private func runOnce(_ command: [String], stdin: Data?, environment: [String: String], check: Bool) throws -> CommandOutput {
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

/// A fresh directory under the temporary folder, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "ferry-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
