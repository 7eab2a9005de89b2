/// Reads the part of TOML a pipeline config uses: comments, `[table]` headers, and
/// `key = value` lines whose values are strings (basic and literal), integers, floats,
/// booleans, and arrays of those (across lines, with comments and a trailing comma).
///
/// It replaced TOMLKit, whose C++ parser (toml++) asserts, and so aborts the program, on
/// some malformed headers and arrays that fuzzing found (fuzz/regressions/config). This
/// reader never traps: every malformed input is a `ConfigError` naming the line. TOML
/// that a config never needs (dotted keys, inline tables, arrays of tables, multi-line
/// strings, dates) is refused by name.
struct TOMLReader {
    /// Top-level values, and each table's values.
    struct Document {
        var topLevel: [String: ConfigValue] = [:]
        var tables: [String: [String: ConfigValue]] = [:]
    }

    private let bytes: [UInt8]
    private let name: String
    private var index = 0
    private var line = 1

    static func read(_ text: String, name: String) throws(ConfigError) -> Document {
        var reader = TOMLReader(bytes: Array(text.utf8), name: name)
        return try reader.document()
    }

    private init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func error(_ reason: String) -> ConfigError { ConfigError("\(name) line \(line)", reason) }

    private mutating func document() throws(ConfigError) -> Document {
        var document = Document()
        var table: String?  // nil: the top level
        while true {
            skipBlank()
            guard let byte = current else { return document }
            switch byte {
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "#"):
                try endOfLine()
            case UInt8(ascii: "["):
                let name = try header()
                guard document.tables.updateValue([:], forKey: name) == nil else { throw error("the table [\(name)] appears twice") }
                table = name
                try endOfLine()
            default:
                let key = try self.key()
                skipBlank()
                guard current == UInt8(ascii: "=") else {
                    throw error(current == UInt8(ascii: ".") ? "dotted keys are not used in a pipeline config" : "expected '=' after the key \(key)")
                }
                index += 1
                skipBlank()
                let value = try self.value()
                let previous: ConfigValue?
                if let table {
                    previous = document.tables[table]!.updateValue(value, forKey: key)
                } else {
                    previous = document.topLevel.updateValue(value, forKey: key)
                }
                guard previous == nil else { throw error("the key \(key) appears twice") }
                try endOfLine()
            }
        }
    }

    private mutating func header() throws(ConfigError) -> String {
        index += 1
        if current == UInt8(ascii: "[") { throw error("arrays of tables ([[…]]) are not used in a pipeline config") }
        skipBlank()
        let table = try key()
        skipBlank()
        if current == UInt8(ascii: ".") { throw error("nested tables are not used in a pipeline config") }
        guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header [\(table)") }
        index += 1
        return table
    }

    /// A bare key (`A-Z a-z 0-9 _ -`) or a quoted one.
    private mutating func key() throws(ConfigError) -> String {
        switch current {
        case UInt8(ascii: "\""): return try basicString()
        case UInt8(ascii: "'"): return try literalString()
        default:
            let start = index
            while let byte = current, isBareKey(byte) { index += 1 }
            guard index > start else { throw error("expected a key such as plugin, or a [table]") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    private func isBareKey(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    private mutating func value() throws(ConfigError) -> ConfigValue {
        guard let byte = current else { throw error("a value is missing after '='") }
        switch byte {
        case UInt8(ascii: "\""): return .string(try basicString())
        case UInt8(ascii: "'"): return .string(try literalString())
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): throw error("inline tables are not used in a pipeline config")
        default: return try scalar()
        }
    }

    private mutating func array() throws(ConfigError) -> ConfigValue {
        index += 1
        var items: [ConfigValue] = []
        while true {
            try skipBlankLinesAndComments()
            if current == UInt8(ascii: "]") {
                index += 1
                return .array(items)
            }
            items.append(try value())
            try skipBlankLinesAndComments()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): continue
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    /// `true`, `false`, an integer or a float, up to the next separator.
    private mutating func scalar() throws(ConfigError) -> ConfigValue {
        let start = index
        while let byte = current, !" \t\r\n,]#".utf8.contains(byte) { index += 1 }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        let digits = text.replacingUnderscores()
        if let number = Int(digits) { return .integer(number) }
        if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), digits.allSatisfy({ "+-.eE0123456789".contains($0) }),
           let number = Double(digits), number.isFinite {
            return .float(number)
        }
        throw error(text.isEmpty ? "a value is missing" : "'\(text.prefix(40))' is not a value a config takes (strings need quotes)")
    }

    private mutating func basicString() throws(ConfigError) -> String {
        if bytes[index...].starts(with: "\"\"\"".utf8) { throw error("multi-line strings are not used in a pipeline config") }
        index += 1
        var out: [UInt8] = []
        while true {
            guard let byte = current, byte != UInt8(ascii: "\n") else { throw error("a string is not closed on its line") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try utf8(out)
            case UInt8(ascii: "\\"):
                out += try escape()
            default:
                out.append(byte)
            }
        }
    }

    private mutating func escape() throws(ConfigError) -> [UInt8] {
        guard let byte = current else { throw error("a string ends in the middle of an escape") }
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): return [byte]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = byte == UInt8(ascii: "u") ? 4 : 8
            guard index + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else { throw error("a \\u escape needs \(count) hex digits of a Unicode scalar") }
            index += count
            return Array(String(Character(scalar)).utf8)
        default:
            throw error("unknown escape '\\\(Character(Unicode.Scalar(byte)))' in a string")
        }
    }

    private mutating func literalString() throws(ConfigError) -> String {
        if bytes[index...].starts(with: "'''".utf8) { throw error("multi-line strings are not used in a pipeline config") }
        index += 1
        let start = index
        while let byte = current, byte != UInt8(ascii: "'") {
            guard byte != UInt8(ascii: "\n") else { throw error("a string is not closed on its line") }
            index += 1
        }
        guard current != nil else { throw error("a string is not closed on its line") }
        index += 1
        return try utf8(Array(bytes[start..<index - 1]))
    }

    private func utf8(_ raw: [UInt8]) throws(ConfigError) -> String {
        guard let text = String(validating: raw, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
        return text
    }

    private mutating func skipBlank() {
        while current == UInt8(ascii: " ") || current == UInt8(ascii: "\t") { index += 1 }
    }

    /// Inside an array: blanks, newlines and comments.
    private mutating func skipBlankLinesAndComments() throws(ConfigError) {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
            case UInt8(ascii: "#"): skipComment()
            default: return
            }
        }
        throw error("an array is not closed")
    }

    private mutating func skipComment() {
        while let byte = current, byte != UInt8(ascii: "\n") { index += 1 }
    }

    /// Blanks, a comment, then the end of the line (or of the file).
    private mutating func endOfLine() throws(ConfigError) {
        skipBlank()
        if current == UInt8(ascii: "#") { skipComment() }
        if current == UInt8(ascii: "\r") { index += 1 }
        guard let byte = current else { return }
        guard byte == UInt8(ascii: "\n") else { throw error("unexpected text after the value: a line holds one key = value") }
        index += 1
        line += 1
    }
}

private extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
