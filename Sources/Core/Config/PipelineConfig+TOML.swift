import Foundation
import TOMLKit

extension PipelineConfig {
    /// Reads a pipeline from a TOML file (see DESIGN.md for its tables).
    public static func load(file path: String) throws -> PipelineConfig {
        try build(raw(file: path))
    }

    /// The tables of a TOML file, before they are checked.
    public static func raw(file path: String) throws -> Raw {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(path, "cannot read the file: \(error.localizedDescription)")
        }
        return try raw(toml: text, name: path)
    }

    /// Reads a pipeline from TOML text; `name` stands for the file in errors.
    public static func parse(toml text: String, name: String) throws(ConfigError) -> PipelineConfig {
        try build(raw(toml: text, name: name))
    }

    /// The tables of TOML text, before they are checked, so the command line can add to them.
    public static func raw(toml text: String, name: String) throws(ConfigError) -> Raw {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError("\(name) line \(error.source.begin.line)", "\(error.description)")
        } catch {
            throw ConfigError(name, "\(error)")
        }
        var raw = Raw(topLevel: .init(values: [:], location: name, fromURL: false))
        for key in table.keys {
            let value = table[key]!
            if let subtable = value.table {
                let location = "\(name) [\(key)]"
                var values: [String: ConfigValue] = [:]
                for subkey in subtable.keys {
                    values[subkey] = try configValue(subtable[subkey]!, at: location, key: subkey)
                }
                raw.tables[key] = .init(values: values, location: location, fromURL: false)
            } else {
                raw.topLevel.values[key] = try configValue(value, at: name, key: key)
            }
        }
        return raw
    }

    private static func configValue(_ value: TOMLValueConvertible, at location: String, key: String) throws(ConfigError) -> ConfigValue {
        switch value.type {
        case .string: return .string(value.string!)
        case .int: return .integer(value.int!)
        case .double: return .float(value.double!)
        case .bool: return .bool(value.bool!)
        case .array:
            var items: [ConfigValue] = []
            for item in value.array! { items.append(try configValue(item, at: location, key: key)) }
            return .array(items)
        default:
            throw ConfigError(location, key: key, "\(value.type) values are not used in a pipeline config")
        }
    }
}
