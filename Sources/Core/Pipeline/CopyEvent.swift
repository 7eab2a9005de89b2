/// What happens during a run, in the order it happens: what logs, the progress
/// display and `--json` are made from.
public enum CopyEvent: Sendable {
    /// The closure is known: how many paths, how many are already at the destination.
    case planned(closure: Int, toCopy: Int, skipped: Int, narBytes: UInt64)
    case skipped(StorePath)
    case started(StorePath, narSize: UInt64)
    /// A NAR is stored (not yet published): its sizes and hashes, how long it took, and
    /// how much of that it waited for memory.
    case stored(StoredNar, seconds: Double, memoryWait: Double)
    /// A copy waited for the limiter before it could start.
    case memoryWaited(StorePath, bytes: Int, seconds: Double)
    /// The path is visible at the destination.
    case published(StorePath)
    case failed(StorePath, String)
    /// A copy failed in a way that may pass; it starts again from the source after `wait`.
    case retrying(StorePath, attempt: Int, error: String, wait: Duration)
    case finished(RunSummary)
}
