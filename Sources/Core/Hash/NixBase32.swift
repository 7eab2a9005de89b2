/// Nix's own base-32 encoding ("nix32"), used in store paths and narinfo hashes.
///
/// It is not RFC 4648: the alphabet omits `e o u t`, and the last byte of the
/// digest comes out first. Decoding rejects non-zero excess bits, as Nix does, so
/// every digest has exactly one encoding.
public enum NixBase32 {
    static let alphabet: [UInt8] = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    /// Maps an ASCII byte to its 5-bit value, or 0xFF when it is not in the alphabet.
    static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        return table
    }()

    /// The number of characters that encode `byteCount` bytes.
    public static func encodedLength(byteCount: Int) -> Int {
        byteCount == 0 ? 0 : (byteCount * 8 - 1) / 5 + 1
    }

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        let length = encodedLength(byteCount: bytes.count)
        var out = [UInt8]()
        out.reserveCapacity(length)
        for n in stride(from: length - 1, through: 0, by: -1) {
            let bit = n * 5
            let i = bit / 8
            let j = bit % 8
            var c = Int(bytes[i]) >> j
            if i + 1 < bytes.count { c |= Int(bytes[i + 1]) << (8 - j) }
            out.append(alphabet[c & 0x1f])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a nix32 string into `byteCount` bytes; nil when a character is outside
    /// the alphabet, the length is wrong, or excess high bits are set.
    public static func decode(_ string: some StringProtocol, byteCount: Int) -> [UInt8]? {
        let chars = Array(string.utf8)
        guard chars.count == encodedLength(byteCount: byteCount) else { return nil }
        var out = [UInt8](repeating: 0, count: byteCount)
        for (position, character) in chars.enumerated() {
            let digit = reverse[Int(character)]
            guard digit != 0xFF else { return nil }
            let n = chars.count - 1 - position
            let bit = n * 5
            let i = bit / 8
            let j = bit % 8
            out[i] |= UInt8(truncatingIfNeeded: Int(digit) << j)
            let carry = Int(digit) >> (8 - j)
            if i + 1 < byteCount {
                out[i + 1] |= UInt8(truncatingIfNeeded: carry)
            } else if carry != 0 {
                return nil
            }
        }
        return out
    }

    /// True when every character of `string` is in the nix32 alphabet.
    public static func isValid(_ string: some StringProtocol) -> Bool {
        string.utf8.allSatisfy { reverse[Int($0)] != 0xFF }
    }
}
