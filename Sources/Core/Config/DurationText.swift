/// Durations as a config writes them: `500ms`, `30s`, `5m`, `1h`, or a bare number of
/// seconds (as Nix's own timeouts take them).
public enum DurationText {
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace
        for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where trimmed.hasSuffix(suffix) {
            return seconds(String(trimmed.dropLast(suffix.count)), scale: scale)
        }
        return seconds(trimmed, scale: 1)
    }

    private static func seconds(_ number: String, scale: Double) -> Duration? {
        // `exactly` refuses what Int64 cannot hold (a fuzzer's 10^30 seconds trapped here).
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number),
              let milliseconds = Int64(exactly: (value * scale * 1000).rounded()) else {
            return nil
        }
        return .milliseconds(milliseconds)
    }
}
