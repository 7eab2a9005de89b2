extension PathInfo {
    /// True when the path needs no signature, as Nix trusts it: its content address makes
    /// its own store path. A NAR is checked against its content address as it streams
    /// (`ContentAddressCheck`, as Nix checks one it imports), so its bytes are bound to the
    /// path as firmly as by a signature.
    public var isSelfCertifying: Bool {
        guard let text = contentAddress, let address = try? ContentAddress(parsing: text) else { return false }
        // A NAR-hash address must be the NarHash: no NAR could match both.
        if address.method == .recursive && address.hash.algorithm == .sha256 && address.hash != narHash { return false }
        return (try? address.storePath(name: path.name, references: references, selfPath: path)) == path
    }
}
