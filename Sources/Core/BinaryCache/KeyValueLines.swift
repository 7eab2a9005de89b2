/// The `Key: value` line format of narinfo and nix-cache-info files, with line numbers.
struct KeyValueLine {
    let number: Int
    let key: Substring
    let value: Substring
}

enum KeyValueLines {
    /// Splits `text` into `Key: value` lines (one space after the colon is dropped);
    /// non-empty lines with no colon come back apart, as `malformed`. Lines may end in
    /// CRLF: to a Swift `String` that is one character, which a split at `"\n"` never meets.
    static func parse(_ text: String) -> (lines: [KeyValueLine], malformed: [(number: Int, text: Substring)]) {
        var lines: [KeyValueLine] = []
        var malformed: [(Int, Substring)] = []
        let split = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (index, line) in split.enumerated() {
            if line.isEmpty { continue }
            guard let colon = line.firstIndex(of: ":") else {
                malformed.append((index + 1, line))
                continue
            }
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            lines.append(KeyValueLine(number: index + 1, key: line[..<colon], value: value))
        }
        return (lines, malformed)
    }
}
