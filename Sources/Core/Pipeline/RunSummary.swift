/// The outcome of a run: what was copied, skipped and failed, and the figures that
/// explain it. `exitCode` is what `ferry` exits with.
public struct RunSummary: Sendable {
    public var closureSize = 0
    public var copied = 0
    public var skipped = 0
    /// Each failed path with its error, in the order they failed.
    public var failed: [(path: StorePath, error: String)] = []
    /// Uncompressed NAR bytes of the copied paths, and bytes written for them.
    public var narBytes: UInt64 = 0
    public var fileBytes: UInt64 = 0
    public var wallTime = Duration.zero
    public var limiter = LimiterStatistics()
    /// A stop kept some paths from being copied; they are among `failed`, as interrupted.
    public var interrupted = false
    /// Which signal stopped it, when the caller (which handles signals) says so.
    public var stopSignal: Int32?

    public init() {}

    /// 128 + the signal that stopped the run, as a shell reports it; else 0 when every
    /// path is at the destination, 1 when some failed.
    public var exitCode: Int32 { stopSignal.map { 128 + $0 } ?? (failed.isEmpty ? 0 : 1) }

    /// Written bytes per NAR byte (below 1 when compression helped).
    public var compressionRatio: Double? {
        narBytes == 0 ? nil : Double(fileBytes) / Double(narBytes)
    }

    /// The summary a person reads at the end of a run.
    public var rendered: String {
        let seconds = wallTime.seconds
        var lines = interrupted ? ["interrupted: copies in flight were aborted, and none of them was published"] : []
        lines += ["\(copied) copied, \(skipped) already there, \(failed.count) failed (closure of \(closureSize)) in \(String(format2(seconds))) s"]
        if copied > 0 {
            var line = "\(ByteSize.format(Int(narBytes))) of NARs"
            if let ratio = compressionRatio { line += " written as \(ByteSize.format(Int(fileBytes))) (ratio \(format2(ratio)))" }
            if seconds > 0 { line += ", \(ByteSize.format(Int(Double(narBytes) / seconds)))/s" }
            lines.append(line)
        }
        if closureSize > 0 {
            lines.append("memory: peak \(ByteSize.format(limiter.peak)) reserved of \(ByteSize.format(limiter.budget)); "
                         + "\(limiter.waits) waits, \(format2(limiter.totalWaited.seconds)) s waited in all")
        }
        for failure in failed { lines.append("failed: \(failure.path): \(failure.error)") }
        return lines.joined(separator: "\n")
    }

    private func format2(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))"
    }
}
