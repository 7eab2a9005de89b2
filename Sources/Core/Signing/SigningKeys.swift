import Crypto
import Foundation

/// A Nix binary-cache secret key: `name:base64(64 bytes)`, the libsodium layout of a
/// 32-byte Ed25519 seed followed by the 32-byte public key
/// (`nix-store --generate-binary-cache-key` writes these).
public struct SecretKey: Sendable {
    public let name: String
    /// The 32-byte seed; Crypto's key type is not Sendable, so it is made when needed.
    private let seed: [UInt8]
    private var key: Curve25519.Signing.PrivateKey {
        // The seed was checked when the key was made or parsed.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// Makes a new key pair from the system's secure random source.
    public init(generatingNamed name: String) throws(KeyError) {
        try KeyError.checkName(name, in: "new key")
        self.name = name
        seed = Array(Curve25519.Signing.PrivateKey().rawRepresentation)
    }

    /// Parses the contents of a secret-key file; `source` names it in errors.
    public init(parsing text: String, source: String = "secret key") throws(KeyError) {
        let (name, bytes) = try KeyError.split(text, source: source, expectedBytes: 64)
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes[0..<32]) else {
            throw KeyError(source: source, reason: "the seed is not a valid Ed25519 key")
        }
        guard Array(key.publicKey.rawRepresentation) == Array(bytes[32..<64]) else {
            throw KeyError(source: source, reason: "its public half does not match its seed; the file is damaged")
        }
        self.name = name
        seed = Array(bytes[0..<32])
    }

    /// Reads a secret-key file.
    public init(contentsOfFile path: String) throws {
        try self.init(parsing: try readTextFile(path), source: path)
    }

    public var publicKey: PublicKey { PublicKey(name: name, key: key.publicKey) }

    /// The file's text: `name:base64(seed ‖ public)`, no newline (as Nix writes it).
    public var rendered: String {
        name + ":" + Data(key.rawRepresentation + key.publicKey.rawRepresentation).base64EncodedString()
    }

    /// Signs `fingerprint` and returns the signature as a narinfo `Sig:` value,
    /// `name:base64(64 bytes)`. Ed25519 is deterministic: the same key and message
    /// always give the same signature, so Ferry's match Nix's byte for byte.
    public func sign(_ fingerprint: String) -> String {
        // Signing with a valid key cannot fail.
        let signature = try! key.signature(for: Data(fingerprint.utf8))
        return name + ":" + Data(signature).base64EncodedString()
    }

    /// Signs `info`'s fingerprint and adds the signature to it.
    public func sign(_ info: inout PathInfo) {
        info.signatures.insert(sign(info.fingerprint))
    }
}

/// A Nix public key, `name:base64(32 bytes)`, as listed in `trusted-public-keys`.
public struct PublicKey: Sendable, Hashable {
    public let name: String
    /// The 32 raw bytes; Crypto's key type is not Sendable, so it is made when needed.
    private let bytes: [UInt8]
    private var key: Curve25519.Signing.PublicKey {
        // The bytes were checked when the key was parsed.
        try! Curve25519.Signing.PublicKey(rawRepresentation: bytes)
    }

    init(name: String, key: Curve25519.Signing.PublicKey) {
        self.name = name
        self.bytes = Array(key.rawRepresentation)
    }

    public init(parsing text: String, source: String = "public key") throws(KeyError) {
        let (name, bytes) = try KeyError.split(text, source: source, expectedBytes: 32)
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes) else {
            throw KeyError(source: source, reason: "not a valid Ed25519 public key")
        }
        self.init(name: name, key: key)
    }

    public var rendered: String { name + ":" + key.rawRepresentation.base64EncodedString() }

    /// True when `signature` (`name:base64`) is this key's signature of `fingerprint`.
    public func verify(_ signature: String, of fingerprint: String) -> Bool {
        guard let colon = signature.firstIndex(of: ":"), signature[..<colon] == name,
              let bytes = Data(base64Encoded: String(signature[signature.index(after: colon)...])),
              bytes.count == 64 else { return false }
        return key.isValidSignature(bytes, for: Data(fingerprint.utf8))
    }

}

extension PathInfo {
    /// True when one of the signatures is valid for one of `keys`
    /// (a key counts only for signatures under its own name).
    public func isSigned(byAnyOf keys: some Sequence<PublicKey>) -> Bool {
        let fingerprint = self.fingerprint
        return keys.contains { key in signatures.contains { key.verify($0, of: fingerprint) } }
    }

    /// The key names its signatures give: who they claim signed it, checked or not.
    public var claimedSigners: [String] {
        signatures.map { String($0.prefix { $0 != ":" }) }
    }
}

/// A key file or key string that cannot be used, and why.
public struct KeyError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let reason: String
    public var description: String { "invalid key \(source): \(reason)" }

    /// Refuses a name Nix could not parse back out of `name:base64`.
    public static func checkName(_ name: String, in source: String) throws(KeyError) {
        guard !name.isEmpty, !name.contains(":"), !name.contains(where: \.isWhitespace) else {
            throw KeyError(source: source, reason: "a key name is non-empty, with no ':' or spaces")
        }
    }

    /// Splits `name:base64` and decodes it to exactly `expectedBytes` bytes.
    static func split(_ text: String, source: String, expectedBytes: Int) throws(KeyError) -> (String, [UInt8]) {
        let trimmed = text.trimmingWhitespace
        guard let colon = trimmed.firstIndex(of: ":") else {
            throw KeyError(source: source, reason: "expected NAME:BASE64, as nix.conf and `nix key` write keys")
        }
        let name = String(trimmed[..<colon])
        try checkName(name, in: source)
        guard let bytes = Data(base64Encoded: String(trimmed[trimmed.index(after: colon)...])) else {
            throw KeyError(source: source, reason: "the key is not valid base64")
        }
        guard bytes.count == expectedBytes else {
            // Ed25519: a public key has 32 bytes, a secret one 64; the files are easily swapped.
            let swapped = switch (bytes.count, expectedBytes) {
            case (32, 64): " (this is a public key; give the secret one, from the file `ferry keys generate --secret-file` wrote)"
            case (64, 32): " (this is a secret key: give the public one, and keep this one private)"
            default: ""
            }
            throw KeyError(source: source, reason: "the key has \(bytes.count) bytes; expected \(expectedBytes)" + swapped)
        }
        return (name, Array(bytes))
    }
}
