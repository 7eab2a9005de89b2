import ArgumentParser
import FerryCore
import Foundation

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Copy Nix store closures between machines and into binary caches.",
        subcommands: [CopyClosure.self, Mirror.self, Run.self, Keys.self, Plugins.self, Nar.self, HashCommand.self])

    /// ArgumentParser's own `main`, except that a command line it refuses exits 2, as a
    /// refused config does, instead of its 64: scripts get one code for "fix the command".
    /// A group named without a subcommand (`ferry`, `ferry keys`) is such a command line:
    /// left to itself, ArgumentParser prints the help and exits 0, so a script whose
    /// subcommand came out empty would carry on as if it had run.
    static func main() async {
        var parsed: (any ParsableCommand.Type)?
        do {
            var command = try parseAsRoot()
            parsed = type(of: command)
            if let group = parsed, !group.configuration.subcommands.isEmpty {
                let names = group.configuration.subcommands.map { $0._commandName }.joined(separator: ", ")
                throw ValidationError("'\(commandPath(to: group).joined(separator: " "))' needs a subcommand: \(names)")
            }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = switch (error, parsed) {
            case (let error as ValidationError, let command?): message(for: error, from: command)
            default: fullMessage(for: error)
            }
            printError(message)
            // A script reading --json hears of a refused command line too.
            if CommandLine.arguments.dropFirst().prefix(while: { $0 != "--" }).contains("--json") {
                let reason = message.split(separator: "\n").first.map { String($0.trimmingPrefix("Error: ")) } ?? message
                writeStdout(CopyEvent.errorLine(reason, exitCode: 2))
            }
            exit(withError: ExitCode(2))
        }
    }

    /// What ArgumentParser prints for a `ValidationError`, but with the usage of the
    /// subcommand whose `run` threw it: left to itself, it shows the root's usage.
    private static func message(for error: ValidationError, from command: any ParsableCommand.Type) -> String {
        let name = commandPath(to: command).joined(separator: " ")
        return "Error: \(error.message)\nUsage: \(usageString(for: command))\n  See '\(name) --help' for more information."
    }

    /// The names from `ferry` down to `command`, as typed: `ferry keys generate`.
    private static func commandPath(to command: any ParsableCommand.Type,
                                    from node: any ParsableCommand.Type = Ferry.self) -> [String] {
        if ObjectIdentifier(node) == ObjectIdentifier(command) { return [node._commandName] }
        for child in node.configuration.subcommands {
            let below = commandPath(to: command, from: child)
            if !below.isEmpty { return [node._commandName] + below }
        }
        return []
    }
}
