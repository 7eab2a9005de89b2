import ArgumentParser

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Copy Nix store closures between machines and into binary caches.",
        subcommands: [CopyClosure.self, Mirror.self, Run.self, Keys.self, Plugins.self, Nar.self, HashCommand.self])
}
