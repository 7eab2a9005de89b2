import ArgumentParser
import FerryBuiltinPlugins
import FerryCore

/// `ferry plugins`: every plugin, with its options and defaults.
struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every plugin with its options and defaults.")

    func run() {
        let registry = PluginRegistry.builtIn
        print("[limiter] (mandatory in a config file)")
        print("  memory      size      default 1GiB  the byte budget every copy reserves from")
        print("  warn-after  duration  default 1s    log a wait for memory this long or longer")
        section("source", registry.sources.values.map(Describe.init))
        section("codec", registry.codecs.values.map(Describe.init))
        section("backend", registry.backends.values.map(Describe.init))
    }

    private func section(_ kind: String, _ plugins: [Describe]) {
        for plugin in plugins.sorted(by: { $0.name < $1.name }) {
            let schemes = plugin.schemes.isEmpty ? "" : "  (URLs: \(plugin.schemes.map { "\($0)://" }.joined(separator: ", ")))"
            print("\n[\(kind)] plugin = \"\(plugin.name)\": \(plugin.summary)\(schemes)")
            for option in plugin.options {
                let name = option.name.padding(toLength: 22, withPad: " ", startingAt: 0)
                let type = option.type.padding(toLength: 9, withPad: " ", startingAt: 0)
                let value = option.defaultValue.map { "default \($0)" } ?? ""
                print("  \(name)\(type)\(value.padding(toLength: 18, withPad: " ", startingAt: 0))\(option.help)")
            }
        }
    }

    /// What the listing needs of a plugin of any kind.
    private struct Describe {
        let name: String, summary: String, schemes: [String], options: [PluginOption]
        init<T>(_ plugin: Plugin<T>) {
            name = plugin.name
            summary = plugin.summary
            schemes = plugin.schemes
            options = plugin.options
        }
    }
}
