import Crypto
import Foundation

/// AWS Signature Version 4 over one request, as S3 (and STS) need it: the canonical request, the
/// string to sign, and the signature, each exposed so tests can hold them against AWS's
/// published vectors.
///
/// Paths are not normalised (S3's rule) and must come already URI-encoded; query values
/// are encoded here.
public struct SigV4: Sendable {
    public let accessKey: String
    let secretKey: String
    public let region: String
    public let service: String

    public init(accessKey: String, secretKey: String, region: String, service: String = "s3") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    /// The parts of a request that its signature covers.
    public struct Request: Sendable {
        public var method: String
        /// URI-encoded, as sent.
        public var path: String
        /// Decoded names and values.
        public var query: [(String, String)]
        /// Names in any case; every one given is signed.
        public var headers: [(String, String)]
        /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(String, String)] = [], headers: [(String, String)],
                    payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// `20130524T000000Z`.
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(dateSeparator: .omitted, dateTimeSeparator: .standard,
                                               timeSeparator: .omitted, timeZone: TimeZone(identifier: "UTC")!))
    }

    public func signedHeaders(_ request: Request) -> String {
        canonicalHeaders(request).map(\.0).joined(separator: ";")
    }

    public func canonicalRequest(_ request: Request) -> String {
        let pairs: [(String, String)] = request.query.map { (SigV4.encode($0.0), SigV4.encode($0.1)) }
        let query = pairs.sorted(by: SigV4.byNameThenValue).map { $0.0 + "=" + $0.1 }.joined(separator: "&")
        let headers = canonicalHeaders(request).map { "\($0.0):\($0.1)\n" }.joined()
        return [request.method, request.path, query, headers, signedHeaders(request), request.payloadHash]
            .joined(separator: "\n")
    }

    public func scope(timestamp: String) -> String {
        "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(_ request: Request, timestamp: String) -> String {
        let digest = SHA256.hash(data: Data(canonicalRequest(request).utf8))
        return ["AWS4-HMAC-SHA256", timestamp, scope(timestamp: timestamp), SigV4.hex(digest)].joined(separator: "\n")
    }

    public func signature(_ request: Request, timestamp: String) -> String {
        var key = SymmetricKey(data: Data(("AWS4" + secretKey).utf8))
        for part in [String(timestamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign(request, timestamp: timestamp).utf8), using: key)
        return SigV4.hex(mac)
    }

    /// The `Authorization` header's value.
    public func authorization(_ request: Request, timestamp: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope(timestamp: timestamp)), "
            + "SignedHeaders=\(signedHeaders(request)), Signature=\(signature(request, timestamp: timestamp))"
    }

    private static func byNameThenValue(_ a: (String, String), _ b: (String, String)) -> Bool {
        a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
    }

    /// Lowercased names, values trimmed with inner runs of spaces squeezed, sorted by name.
    private func canonicalHeaders(_ request: Request) -> [(String, String)] {
        var merged: [String: [String]] = [:]
        for (name, value) in request.headers {
            let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(squeezed)
        }
        return merged.map { ($0.key, $0.value.joined(separator: ",")) }.sorted { $0.0 < $1.0 }
    }

    /// RFC 3986 encoding as AWS wants it: everything but `A-Z a-z 0-9 - . _ ~` as `%XX`;
    /// with `keepSlash`, `/` too stays (for an object key in a path).
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
