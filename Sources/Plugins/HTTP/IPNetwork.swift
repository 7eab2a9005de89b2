#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 network, `address/bits` as `no_proxy` writes it (`10.0.0.0/8`,
/// `fe80::/10`); an address alone is a network of one.
struct IPNetwork: Equatable {
    /// The address's bytes in network order: 4 or 16 of them.
    let bytes: [UInt8]
    /// How many leading bits an address must share with `bytes` to be in the network.
    let prefixLength: Int

    /// Nil for anything that is not an address, with a prefix length that fits it.
    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.addressBytes(String(parts[0])) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...bytes.count * 8).contains(length) else { return nil }
        self.bytes = bytes
        self.prefixLength = length
    }

    /// Whether `address` (an `IPNetwork` of one address) lies in this network.
    func contains(_ address: IPNetwork) -> Bool {
        guard address.bytes.count == bytes.count else { return false }
        return zip(bytes, address.bytes).enumerated().allSatisfy { index, pair in
            let mask = UInt8.max << (8 - min(8, max(0, prefixLength - index * 8)))
            return pair.0 & mask == pair.1 & mask
        }
    }

    private static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}
