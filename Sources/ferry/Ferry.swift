import ArgumentParser
import Foundation

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Copy Nix store closures between machines and into binary caches.",
        subcommands: [CopyClosure.self, Mirror.self, Run.self, Keys.self, Plugins.self, Nar.self, HashCommand.self])

    /// ArgumentParser's own `main`, except that a command line it refuses exits 2, as a
    /// refused config does, instead of its 64: scripts get one code for "fix the command".
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            exit(withError: ExitCode(2))
        }
    }
}
