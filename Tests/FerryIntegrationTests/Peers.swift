import Foundation
#if canImport(Glibc)
import Glibc
#endif
import FerryCore
import FerryTestSupport
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

    /// moto's S3 server and boto3, in the `python3` on PATH.
    static let moto: ConditionTrait = .enabled(
        if: inCI || (try? run(["python3", "-c", "import moto.server, boto3"], check: false).status) == 0,
        "python3 with moto and boto3 is not installed: skipped outside CI (run `make test` to install it)")

    /// Enabled when `program` is installed, or always in CI (where its absence then fails the test).
    static func requiring(_ program: String) -> ConditionTrait {
        .enabled(if: installed(program) || inCI, "\(program) is not installed: skipped outside CI (run `make test` to install it)")
    }
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

/// A key pair made by `ferry keys generate` in `dir`: the secret key's file, and the
/// public key as `trusted-public-keys` takes it.
func ferryKeyPair(named name: String, in dir: TemporaryDirectory) throws -> (secret: String, public: String) {
    let secret = "\(dir.path)/\(name).sec", publicFile = "\(dir.path)/\(name).pub"
    try run([ferryBinary, "keys", "generate", "--name", name, "--secret-file", secret, "--public-file", publicFile])
    return (secret, try String(contentsOfFile: publicFile, encoding: .utf8))
}

/// Writes `script` (a `#!` line first) to `path` and makes it executable: a stand-in for
/// a program Ferry runs.
func writeExecutable(_ script: String, to path: String) throws {
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
}

/// Writes a `nix-store` stand-in to `path` whose output is throttled to 8 MB/s, so that a
/// fault injected into a copy lands in the middle of a NAR, whatever the machine's speed.
func writeThrottledNixStore(to path: String) throws {
    try writeExecutable("""
        #!/bin/sh
        nix-store "$@" | python3 -c '
        import os, time
        while True:
            b = os.read(0, 1 << 16)
            if not b: break
            os.write(1, b); time.sleep(len(b) / 8e6)
        '
        """, to: path)
}

/// Starts a server that will listen on 127.0.0.1:`port` and waits until it does; one that
/// does not is killed, and its stderr is the error.
func startServer(_ arguments: [String], on port: Int, environment: [String: String] = [:],
                 seconds: Double = 20) throws -> ChildProcess {
    let process = try ChildProcess(arguments: arguments, environment: environment)
    guard waitForPort(port, seconds: seconds) else {
        process.kill(SIGKILL)
        throw CommandFailed(command: Array(arguments.prefix(3)), output: .init(status: 1, stdout: Data(), stderr: process.stderr))
    }
    return process
}

/// The lines a stand-in server logged to `path`; none when it logged nothing.
func logLines(atPath path: String) -> [String] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}
