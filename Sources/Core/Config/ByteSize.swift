/// Sizes as a config writes them: `4GiB`, `512MiB`, `1.5G`, `64M`, `100KB`, or plain bytes.
///
/// `K`, `M`, `G`, `T` and their `iB` forms are powers of 1024; `KB`, `MB`, `GB`, `TB`
/// are powers of 1000; a fraction is allowed before a unit.
public enum ByteSize {
    private static let units: [(suffix: String, factor: Double)] = [
        ("KiB", 0x1p10), ("MiB", 0x1p20), ("GiB", 0x1p30), ("TiB", 0x1p40),
        ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12),
        ("K", 0x1p10), ("M", 0x1p20), ("G", 0x1p30), ("T", 0x1p40), ("B", 1),
    ]

    /// The number of bytes `text` means, or nil when it is not a size.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            return scaled(String(trimmed.dropLast(suffix.count)).trimmingWhitespace, by: factor)
        }
        return scaled(trimmed, by: 1)
    }

    private static func scaled(_ number: String, by factor: Double) -> Int? {
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number),
              value >= 0, value * factor < Double(Int.max) else { return nil }
        let bytes = value * factor
        return bytes == bytes.rounded() ? Int(bytes) : nil
    }

    /// `1.5 GiB`, `64 MiB`, `512 B`: the largest binary unit that keeps it readable.
    public static func format(_ bytes: Int) -> String {
        let value = Double(bytes)
        for (unit, factor) in [("TiB", 0x1p40), ("GiB", 0x1p30), ("MiB", 0x1p20), ("KiB", 0x1p10)] where value >= factor {
            let scaled = value / factor
            return (scaled >= 100 ? String(Int(scaled.rounded())) : String(format1(scaled))) + " " + unit
        }
        return "\(bytes) B"
    }

    private static func format1(_ x: Double) -> String {
        let tenths = Int((x * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
    }
}
