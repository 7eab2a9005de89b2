import Crypto
import Foundation

/// OpenSSH's `known_hosts` format: which host keys a host may present.
///
/// Lines are `patterns keytype base64 [comment]`; a pattern is a name, `[name]:port`,
/// a wildcard (`*`, `?`), a negation (`!`), or a hashed name `|1|salt|hmac`. Lines marked
/// `@revoked` name keys that must be refused; `@cert-authority` lines are not used.
public struct KnownHosts: Sendable {
    public struct Entry: Sendable, Equatable {
        public let key: HostKey
        public let revoked: Bool
        public let line: Int
    }

    public let source: String
    private let lines: [(patterns: String, entry: Entry)]

    public init(parsing text: String, source: String) {
        self.source = source
        var lines: [(String, Entry)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            var revoked = false
            if first.hasPrefix("@") {
                guard first == "@revoked" else { continue }
                revoked = true
                fields.removeFirst()
            }
            guard fields.count >= 3, let key = HostKey(type: fields[1], base64: fields[2]) else { continue }
            lines.append((fields[0], Entry(key: key, revoked: revoked, line: index + 1)))
        }
        self.lines = lines
    }

    /// Reads a known_hosts file; a missing file knows no host.
    public init(contentsOfFile path: String) throws {
        self.init(parsing: try KnownHosts.text(ofFile: path), source: path)
    }

    /// The file's text; a missing file is empty.
    private static func text(ofFile path: String) throws(SystemError) -> String {
        do {
            return try readTextFile(path)
        } catch where error.errno == ENOENT {
            return ""
        }
    }

    /// How OpenSSH names a host in the file: `host`, or `[host]:port` when the port is not 22.
    public static func name(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// The entries whose patterns match `host` on `port`.
    public func entries(host: String, port: Int) -> [Entry] {
        let name = KnownHosts.name(host: host, port: port)
        return lines.filter { KnownHosts.matches(patterns: $0.patterns, name: name) }.map(\.entry)
    }

    /// What the file says of the key a host presented.
    public func check(_ key: HostKey, host: String, port: Int) -> Verdict {
        let known = entries(host: host, port: port)
        if let entry = known.first(where: { $0.key == key && $0.revoked }) { return .revoked(entry) }
        if let entry = known.first(where: { $0.key == key }) { return .trusted(entry) }
        let others = known.filter { !$0.revoked }
        return others.isEmpty ? .unknown : .changed(others)
    }

    public enum Verdict: Sendable, Equatable {
        case trusted(Entry)
        case unknown
        /// The host is known with other keys: someone may be in the middle.
        case changed([Entry])
        case revoked(Entry)
    }

    static func matches(patterns: String, name: String) -> Bool {
        if patterns.hasPrefix("|1|") { return hashedMatch(patterns, name: name) }
        var matched = false
        for pattern in patterns.split(separator: ",") {
            if pattern.hasPrefix("!") {
                if wildcard(pattern.dropFirst(), matches: name) { return false }
            } else if wildcard(pattern, matches: name) {
                matched = true
            }
        }
        return matched
    }

    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, as `HashKnownHosts yes` writes.
    private static func hashedMatch(_ field: String, name: String) -> Bool {
        let parts = field.split(separator: "|")
        guard parts.count == 3, let salt = Data(base64Encoded: String(parts[1])),
              let expected = Data(base64Encoded: String(parts[2])) else { return false }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
        return Data(mac) == expected
    }

    /// Glob matching with `*` and `?`, case-insensitive as host names are.
    private static func wildcard(_ pattern: some StringProtocol, matches name: String) -> Bool {
        let p = Array(pattern.lowercased().utf8), n = Array(name.lowercased().utf8)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == n[ni]) {
                pi += 1; ni += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ni; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ni = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// A host's public key: its type name and the key blob as the SSH wire carries it.
public struct HostKey: Sendable, Hashable, CustomStringConvertible {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    public let type: String
    public let blob: [UInt8]

    public init(type: String, blob: [UInt8]) {
        self.type = type
        self.blob = blob
    }

    public init?(type: String, base64: String) {
        guard let data = Data(base64Encoded: base64) else { return nil }
        self.init(type: type, blob: Array(data))
    }

    /// A line of a public key file or known_hosts entry: `type base64 [comment]`.
    public init?(line: String) {
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count >= 2 else { return nil }
        self.init(type: String(fields[0]), base64: String(fields[1]))
    }

    public var base64: String { Data(blob).base64EncodedString() }

    /// OpenSSH's fingerprint: `SHA256:` and the unpadded base64 of the blob's SHA-256.
    public var fingerprint: String {
        "SHA256:" + Data(SHA256.hash(data: Data(blob))).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// The known_hosts line that trusts this key for `host` on `port`.
    public func knownHostsLine(host: String, port: Int) -> String {
        "\(KnownHosts.name(host: host, port: port)) \(type) \(base64)"
    }

    public var description: String { "\(type) key \(fingerprint)" }
}
