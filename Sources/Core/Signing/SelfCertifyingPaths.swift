extension PathInfo {
    /// True when the path needs no signature, as Nix trusts it: its content address makes
    /// its own store path. A NAR is checked against its content address as it streams
    /// (`ContentAddressCheck`, as Nix checks one it imports), so its bytes are bound to the
    /// path as firmly as by a signature.
    public var isSelfCertifying: Bool {
        guard let address = checkableContentAddress else { return false }
        // A NAR-hash address must be the NarHash: no NAR could match both.
        if address.isNarHash && address.hash != narHash { return false }
        return (try? address.storePath(name: path.name, references: references, selfPath: path)) == path
    }

    /// The content address a NAR can be checked against as it streams: nil when there is
    /// none, or when the path refers to itself. Nix hashes such a NAR with its own hash
    /// part blanked out (a content-addressed derivation's output), which the stream check
    /// does not redo, so the address neither vouches for the path nor refuses its NAR.
    var checkableContentAddress: ContentAddress? {
        guard !references.contains(path), let text = contentAddress else { return nil }
        return try? ContentAddress(parsing: text)
    }
}
