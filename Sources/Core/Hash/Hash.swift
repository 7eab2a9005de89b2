import Foundation

/// A digest and the algorithm that made it, as Nix writes it in narinfos, path infos
/// and the serve protocol.
///
/// Parsing follows Nix's `Hash::parseAny`: the digest may be base16, nix32 or base64,
/// told apart purely by its length for the algorithm; SRI (`sha256-<base64>`) is accepted too.
public struct Hash: Hashable, Sendable, CustomStringConvertible {
    public let algorithm: HashAlgorithm
    public let digest: [UInt8]

    public init(algorithm: HashAlgorithm, digest: [UInt8]) throws(HashParseError) {
        guard digest.count == algorithm.byteCount else {
            throw HashParseError(input: "<\(digest.count) bytes>",
                                 reason: "a \(algorithm.rawValue) digest has \(algorithm.byteCount) bytes")
        }
        self.algorithm = algorithm
        self.digest = digest
    }

    /// The encodings Nix uses for a digest.
    public enum Encoding: Sendable {
        case base16, nix32, base64, sri
    }

    /// Parses `algo:digest` or `algo-base64` (SRI). Without a prefix the string is
    /// refused unless `defaultAlgorithm` is given (the serve protocol's AddToStoreNar
    /// sends bare base16 SHA-256).
    public init(parsing string: String, defaultAlgorithm: HashAlgorithm? = nil) throws(HashParseError) {
        if let colon = string.firstIndex(of: ":") {
            let algorithm = try Hash.algorithm(named: string[..<colon], in: string)
            try self.init(algorithm: algorithm, encodedDigest: string[string.index(after: colon)...],
                          whole: string)
        } else if let dash = string.firstIndex(of: "-"),
                  let algorithm = HashAlgorithm(rawValue: String(string[..<dash])) {
            let encoded = string[string.index(after: dash)...]
            guard let bytes = Data(base64Encoded: String(encoded)), bytes.count == algorithm.byteCount else {
                throw HashParseError(input: string, reason: "invalid SRI digest")
            }
            try self.init(algorithm: algorithm, digest: Array(bytes))
        } else if let defaultAlgorithm {
            try self.init(algorithm: defaultAlgorithm, encodedDigest: Substring(string), whole: string)
        } else {
            throw HashParseError(input: string, reason: "a hash needs an 'algo:' or 'algo-' prefix")
        }
    }

    private static func algorithm(named name: Substring, in whole: String) throws(HashParseError) -> HashAlgorithm {
        guard let algorithm = HashAlgorithm(rawValue: String(name)) else {
            throw HashParseError(input: whole, reason: "unknown hash algorithm '\(name)'")
        }
        return algorithm
    }

    private init(algorithm: HashAlgorithm, encodedDigest: Substring, whole: String) throws(HashParseError) {
        let size = algorithm.byteCount
        let decoded: [UInt8]?
        switch encodedDigest.utf8.count {
        case size * 2: decoded = Hash.decodeBase16(encodedDigest)
        case NixBase32.encodedLength(byteCount: size): decoded = NixBase32.decode(encodedDigest, byteCount: size)
        case (size + 2) / 3 * 4: decoded = Data(base64Encoded: String(encodedDigest)).map(Array.init)
        default: decoded = nil
        }
        guard let decoded, decoded.count == size else {
            throw HashParseError(input: whole, reason: "not a valid \(algorithm.rawValue) digest in base16, nix32 or base64")
        }
        try self.init(algorithm: algorithm, digest: decoded)
    }

    private static func decodeBase16(_ string: Substring) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(string.utf8.count / 2)
        var high: UInt8?
        for character in string.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | value); high = nil } else { high = value }
        }
        return out
    }

    /// The digest alone, in `encoding` (SRI includes its own prefix).
    public func encoded(_ encoding: Encoding) -> String {
        switch encoding {
        case .base16: digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        case .nix32: NixBase32.encode(digest)
        case .base64: Data(digest).base64EncodedString()
        case .sri: "\(algorithm.rawValue)-\(Data(digest).base64EncodedString())"
        }
    }

    /// `algo:digest` in `encoding`; SRI renders as `algo-base64`.
    public func rendered(_ encoding: Encoding) -> String {
        encoding == .sri ? encoded(.sri) : "\(algorithm.rawValue):\(encoded(encoding))"
    }

    /// The form narinfos use: `sha256:<nix32>`.
    public var description: String { rendered(.nix32) }
}

/// A hash string that could not be parsed.
public struct HashParseError: Error, CustomStringConvertible, Equatable {
    public let input: String
    public let reason: String
    public var description: String { "invalid hash '\(input)': \(reason)" }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
