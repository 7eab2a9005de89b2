/// The bytes a compressed file of each kind Nix reads starts with: what the exec codec's
/// command must write for the narinfo's `Compression` to be true. Brotli has none.
enum CompressionMagic {
    static let byName: [String: [UInt8]] = [
        "xz": [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],
        "zstd": [0x28, 0xB5, 0x2F, 0xFD],
        "bzip2": Array("BZh".utf8),
        "gzip": [0x1F, 0x8B],
        "lz4": [0x04, 0x22, 0x4D, 0x18],
        "lzip": Array("LZIP".utf8),
    ]

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined(separator: " ")
    }
}

/// The exec codec's command wrote something else than the compression it is said to write:
/// published, its narinfo would send every reader to the wrong decoder.
struct CompressionMismatch: Error, CustomStringConvertible {
    let compression: String
    let expected: [UInt8]
    let got: [UInt8]

    var description: String {
        "its output starts with \(got.isEmpty ? "nothing" : CompressionMagic.hex(got)), not \(CompressionMagic.hex(expected)) as \(compression) does; "
            + "the [codec] compression setting must name what the command writes"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
