/// A store as Nix names it in a URL: `local`, `local?root=/r`, a bare path `/r`,
/// `file:///dir?compression=zstd`, `ssh://user@host:22?ssh-key=…`, `https://host/prefix`,
/// `s3://bucket?region=…`.
public struct StoreURL: Sendable, Equatable, CustomStringConvertible {
    /// `local`, `file`, `ssh`, `http`, `https`, `s3`, …
    public var scheme: String
    public var user: String?
    /// The host, or the bucket for `s3://`; nil for `local` and `file`.
    public var host: String?
    public var port: Int?
    /// The path after the authority (`/dir` of `file:///dir`), or the root of a bare path.
    public var path: String
    /// Query parameters, percent-decoded, in the order written.
    public var parameters: [(key: String, value: String)]
    /// The URL as the user wrote it, for messages.
    public let text: String

    public var description: String { text }

    public static func == (lhs: StoreURL, rhs: StoreURL) -> Bool { lhs.text == rhs.text }

    public init(parsing text: String) throws(ConfigError) {
        self.text = text
        let location = "store URL '\(text)'"
        let (main, query) = StoreURL.split(text, at: "?")
        parameters = []
        if let query {
            for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
                let (key, value) = StoreURL.split(String(pair), at: "=")
                guard let k = StoreURL.percentDecoded(key), let v = StoreURL.percentDecoded(value ?? "") else {
                    throw ConfigError(location, "bad percent-encoding in '\(pair)'")
                }
                parameters.append((k, v))
            }
        }
        if main.hasPrefix("/") {
            scheme = "local"
            path = main
            return
        }
        guard let schemeEnd = main.range(of: "://") else {
            guard !main.isEmpty, main.allSatisfy({ $0.isLetter || $0 == "-" }) else {
                throw ConfigError(location, "expected scheme://…, 'local' or an absolute path")
            }
            scheme = main
            path = ""
            return
        }
        scheme = String(main[..<schemeEnd.lowerBound])
        let rest = main[schemeEnd.upperBound...]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        path = String(rest[slash...])
        var authority = String(rest[..<slash])
        if let at = authority.lastIndex(of: "@") {
            user = String(authority[..<at])
            authority = String(authority[authority.index(after: at)...])
        }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw ConfigError(location, "the port is not a number from 1 to 65535")
            }
            port = p
            authority = String(authority[..<colon])
        }
        if authority.hasPrefix("[") && authority.hasSuffix("]") { authority = String(authority.dropFirst().dropLast()) }
        host = authority.isEmpty ? nil : authority
    }

    private static func split(_ text: String, at separator: Character) -> (String, String?) {
        guard let index = text.firstIndex(of: separator) else { return (text, nil) }
        return (String(text[..<index]), String(text[text.index(after: index)...]))
    }

    private static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                      let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
