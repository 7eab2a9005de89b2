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

    /// Each kind's options in columns as wide as their longest entry, so nothing is cut.
    private func section(_ kind: String, _ plugins: [Describe]) {
        let options = plugins.flatMap(\.options)
        let nameWidth = options.map(\.name.count).max() ?? 0
        let typeWidth = options.map(\.type.count).max() ?? 0
        let valueWidth = options.map { Plugins.defaultText($0).count }.max() ?? 0
        for plugin in plugins.sorted(by: { $0.name < $1.name }) {
            let schemes = plugin.schemes.isEmpty ? "" : "  (URLs: \(plugin.schemes.map { "\($0)://" }.joined(separator: ", ")))"
            print("\n[\(kind)] plugin = \"\(plugin.name)\": \(plugin.summary)\(schemes)")
            for option in plugin.options {
                print("  " + [Plugins.pad(option.name, nameWidth), Plugins.pad(option.type, typeWidth),
                              Plugins.pad(Plugins.defaultText(option), valueWidth), option.help].joined(separator: "  "))
            }
        }
    }

    private static func defaultText(_ option: PluginOption) -> String {
        option.defaultValue.map { "default \($0)" } ?? ""
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
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
