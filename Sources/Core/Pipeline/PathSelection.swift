/// Which paths a run copies: the requested ones or their whole closure, and of those,
/// with a shard, only the share of this machine.
public struct PathSelection: Sendable, Equatable {
    /// Follow references (the default, as Nix's copy does); false copies only the paths named.
    public var closure: Bool
    public var shard: Shard?

    public init(closure: Bool = true, shard: Shard? = nil) {
        self.closure = closure
        self.shard = shard
    }
}

/// Shard `index` of `count` (1-based, as written: `2/3`): the paths whose hash part falls
/// there. N machines given 1/N … N/N split a set of paths without talking to each other,
/// and together take every path exactly once.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Parses `I/N` with 1 ≤ I ≤ N.
    public init(parsing text: String) throws(ConfigError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1,
              (1...count).contains(index) else {
            throw ConfigError("--shard \(text)", "expected I/N with 1 ≤ I ≤ N, such as 1/3")
        }
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The hash part is a digest, so any 64 bits of it (here its last eight bytes)
    /// spread paths evenly over shards.
    public func contains(_ path: StorePath) -> Bool {
        let bytes = NixBase32.decode(path.hashPart, byteCount: 20) ?? []
        let value = bytes.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(value % UInt64(count)) == index - 1
    }
}
