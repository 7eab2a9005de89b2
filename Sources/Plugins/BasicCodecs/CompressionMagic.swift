/// The bytes a compressed file of a kind Nix reads starts with: what the exec codec's
/// command must write for the narinfo's `Compression` to be true. Brotli has none.
struct CompressionMagic: Sendable {
    let compression: String
    /// Every start a file of the kind may have; all of one length.
    let starts: [[UInt8]]

    /// nil for a compression without a mark to check.
    init?(compression: String) {
        guard let starts = Self.starts[compression] else { return nil }
        self.compression = compression
        self.starts = starts
    }

    private static let starts: [String: [[UInt8]]] = [
        "xz": [[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]],
        // A zstd frame, or a skippable frame first (as pzstd writes one).
        "zstd": [[0x28, 0xB5, 0x2F, 0xFD]] + (0x50...0x5F).map { [$0, 0x2A, 0x4D, 0x18] },
        "bzip2": [Array("BZh".utf8)],
        "gzip": [[0x1F, 0x8B]],
        // A frame, or the legacy format (lz4 -l).
        "lz4": [[0x04, 0x22, 0x4D, 0x18], [0x02, 0x21, 0x4C, 0x18]],
        "lzip": [Array("LZIP".utf8)],
    ]

    var length: Int { starts[0].count }

    /// True while `head`, shorter than `length` or not, could still be such a start.
    func mayStart(_ head: [UInt8]) -> Bool { starts.contains { $0.starts(with: head) } }

    /// True when `head` is a whole start.
    func isStart(of head: [UInt8]) -> Bool { head.count == length && mayStart(head) }

    func mismatch(_ head: [UInt8]) -> CompressionMismatch {
        CompressionMismatch(compression: compression, expected: starts[0], got: head)
    }
}

/// The exec codec's command wrote something else than the compression it is said to write:
/// published, its narinfo would send every reader to the wrong decoder.
struct CompressionMismatch: Error, CustomStringConvertible {
    let compression: String
    let expected: [UInt8]
    let got: [UInt8]

    var description: String {
        "its output starts with \(got.isEmpty ? "nothing" : hex(got)), not \(hex(expected)) as \(compression) does; "
            + "the [codec] compression setting must name what the command writes"
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
    }
}
