/// A path's content address, the `CA:` of a narinfo or path info: `text:sha256:<digest>`
/// (a file such as `builtins.toFile` writes), or `fixed:[r:]<algo>:<digest>` (a fixed-output
/// or `nix-store --add` path, `r:` when the NAR was hashed, not the flat file).
///
/// Parsing follows Nix's `parseContentAddress`; `storePath` its `makeTextPath` and
/// `makeFixedOutputPath`, which Nix uses to trust such a path without a signature
/// (`ValidPathInfo::isContentAddressed`).
public struct ContentAddress: Hashable, Sendable {
    public enum Method: String, Sendable {
        /// `text:`: the hash is of the file's contents.
        case text
        /// `fixed:`: the hash is of the file's contents.
        case flat
        /// `fixed:r:`: the hash is of the NAR.
        case recursive
    }

    public let method: Method
    public let hash: Hash

    /// `fixed:r:sha256:`: the SHA-256 of the NAR, which is what a NarHash is.
    public var isNarHash: Bool { method == .recursive && hash.algorithm == .sha256 }

    public init(parsing text: String) throws(ContentAddressError) {
        var rest = Substring(text)
        guard let colon = rest.firstIndex(of: ":") else {
            throw ContentAddressError(text, "it is not in the form '<prefix>:<rest>'")
        }
        let prefix = rest[..<colon]
        rest = rest[rest.index(after: colon)...]
        switch prefix {
        case "text": method = .text
        case "fixed":
            method = rest.hasPrefix("r:") ? .recursive : .flat
            if method == .recursive { rest = rest.dropFirst(2) }
        default: throw ContentAddressError(text, "the prefix '\(prefix)' is neither 'text' nor 'fixed'")
        }
        // `algo:digest` only: Nix takes no SRI form here.
        guard rest.contains(":") else { throw ContentAddressError(text, "the hash is not in the form '<algo>:<digest>'") }
        do {
            hash = try Hash(parsing: String(rest))
        } catch {
            throw ContentAddressError(text, "\(error)")
        }
        if method == .text && hash.algorithm != .sha256 {
            throw ContentAddressError(text, "a text address uses sha256, not \(hash.algorithm.rawValue)")
        }
    }

    /// The store path this address gives a path called `name` with `references` (which
    /// may include the path itself), as Nix's `makeTextPath` and `makeFixedOutputPath`
    /// compute it; nil for an address no store path can have (a flat or non-SHA-256
    /// fixed address with references).
    public func storePath(name: Substring, references: Set<StorePath>, selfPath: StorePath) throws(StorePathError) -> StorePath? {
        let storeDir = selfPath.storeDir
        var others = references
        let refersToSelf = others.remove(selfPath) != nil
        let type: String
        let inner: Hash
        switch method {
        case .text:
            guard !refersToSelf else { return nil }
            type = Self.type("text", others, refersToSelf: false)
            inner = hash
        case .recursive where hash.algorithm == .sha256:
            type = Self.type("source", others, refersToSelf: refersToSelf)
            inner = hash
        case .flat, .recursive:
            guard others.isEmpty else { return nil }
            type = "output:out"
            let prefix = method == .recursive ? "r:" : ""
            inner = .sha256(of: Array("fixed:out:\(prefix)\(hash.rendered(.base16)):".utf8))
        }
        let digest = Hash.sha256(of: Array("\(type):\(inner.rendered(.base16)):\(storeDir):\(name)".utf8)).digest
        var folded = [UInt8](repeating: 0, count: 20)
        for (index, byte) in digest.enumerated() { folded[index % 20] ^= byte }
        return try StorePath(baseName: NixBase32.encode(folded) + "-" + name, storeDir: storeDir)
    }

    /// `type:ref1:ref2…[:self]`: the references, sorted, folded into the path's type.
    private static func type(_ base: String, _ references: Set<StorePath>, refersToSelf: Bool) -> String {
        ([base] + references.sorted().map(\.path) + (refersToSelf ? ["self"] : [])).joined(separator: ":")
    }
}

/// A `CA:` value Nix could not parse.
public struct ContentAddressError: Error, CustomStringConvertible, Equatable {
    public let input: String
    public let reason: String

    init(_ input: String, _ reason: String) {
        self.input = input
        self.reason = reason
    }

    public var description: String { "'\(input)' is not a content address: \(reason)" }
}
