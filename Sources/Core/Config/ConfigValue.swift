/// A setting's value as a config file or a store URL gave it.
///
/// A URL gives only strings; typed reads parse them. A TOML file gives real types, and
/// a read of the wrong type is an error.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    case array([ConfigValue])

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .integer(let n): String(n)
        case .float(let x): String(x)
        case .bool(let b): String(b)
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }

    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a number"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}
