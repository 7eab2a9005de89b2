import Foundation

/// A path in a Nix store: `<storeDir>/<32 nix32 chars>-<name>`.
///
/// Validation follows Nix: the hash part is 32 characters of the nix32 alphabet, the
/// name is 1–211 characters of `[A-Za-z0-9+-._?=]` and is not `.`, `..` or a name
/// that starts with `.-` or `..-` (newer Nix refuses those too).
/// Ordering is by base name, as Nix orders its `StorePathSet`.
public struct StorePath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let defaultStoreDir = "/nix/store"
    public static let hashPartLength = 32
    public static let maxNameLength = 211

    /// The store directory, without a trailing slash.
    public let storeDir: String
    /// `<hash>-<name>`, the last component of the path.
    public let baseName: String

    /// Parses a full path such as `/nix/store/…-hello`.
    public init(_ path: String, storeDir: String = StorePath.defaultStoreDir) throws(StorePathError) {
        let prefix = storeDir + "/"
        guard path.hasPrefix(prefix) else {
            throw StorePathError(path: path, reason: "not in the store directory '\(storeDir)'")
        }
        try self.init(baseName: String(path.dropFirst(prefix.count)), storeDir: storeDir)
    }

    /// Parses a base name (`<hash>-<name>`), as narinfo References and Deriver lines hold them.
    public init(baseName: String, storeDir: String = StorePath.defaultStoreDir) throws(StorePathError) {
        try StorePath.validate(baseName: baseName, shownAs: storeDir + "/" + baseName)
        self.storeDir = storeDir
        self.baseName = baseName
    }

    /// A store path as a user gives it: the path itself, a symlink into the store such as
    /// `./result`, or a path inside a store path (its store path is meant).
    public init(resolving text: String, storeDir: String = StorePath.defaultStoreDir) throws(StorePathError) {
        if let path = try? StorePath(text, storeDir: storeDir) {
            self = path
            return
        }
        let target = text.hasPrefix(storeDir + "/") ? text : (try? FileManager.default.destinationOfSymbolicLink(atPath: text)) ?? text
        let relative = target.hasPrefix(storeDir + "/") ? target.dropFirst(storeDir.count + 1) : Substring(target)
        guard let baseName = relative.split(separator: "/").first, target.hasPrefix(storeDir + "/") else {
            throw StorePathError(path: text, reason: "not a store path, nor a symlink to one")
        }
        try self.init(baseName: String(baseName), storeDir: storeDir)
    }

    /// The 32 nix32 characters that name `<hashPart>.narinfo` in a binary cache.
    public var hashPart: Substring { baseName.prefix(StorePath.hashPartLength) }
    /// The name after the hash and its dash.
    public var name: Substring { baseName.dropFirst(StorePath.hashPartLength + 1) }
    /// The full path.
    public var path: String { storeDir + "/" + baseName }
    public var description: String { path }

    public static func < (lhs: StorePath, rhs: StorePath) -> Bool {
        lhs.baseName.utf8.lexicographicallyPrecedes(rhs.baseName.utf8)
    }

    private static func validate(baseName: String, shownAs shown: String) throws(StorePathError) {
        let bytes = Array(baseName.utf8)
        guard bytes.count > hashPartLength + 1, bytes[hashPartLength] == UInt8(ascii: "-") else {
            throw StorePathError(path: shown, reason: "a store path is '<32-character hash>-<name>'")
        }
        guard NixBase32.isValid(baseName.prefix(hashPartLength)) else {
            throw StorePathError(path: shown, reason: "the hash part is not nix32")
        }
        let name = bytes[(hashPartLength + 1)...]
        guard name.count <= maxNameLength else {
            throw StorePathError(path: shown, reason: "the name is longer than \(maxNameLength) characters")
        }
        if let bad = name.first(where: { !isNameCharacter($0) }) {
            throw StorePathError(path: shown, reason: "illegal character '\(Character(Unicode.Scalar(bad)))' in the name")
        }
        let nameString = String(decoding: name, as: UTF8.self)
        if nameString == "." || nameString == ".." || nameString.hasPrefix(".-") || nameString.hasPrefix("..-") {
            throw StorePathError(path: shown, reason: "the name '\(nameString)' is not allowed")
        }
    }

    private static func isNameCharacter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            "+-._?=".utf8.contains(c)
        }
    }
}

/// A string that is not a valid store path, and why.
public struct StorePathError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "invalid store path '\(path)': \(reason)" }
}
