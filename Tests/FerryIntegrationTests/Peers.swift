import Foundation
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
