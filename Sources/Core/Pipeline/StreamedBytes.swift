import Synchronization

/// NAR bytes read from the source so far by the copies of a run, counted as they stream,
/// for progress displays: a large path shows its progress while it copies, not only once
/// it is done. A failed attempt's bytes are taken back, so a retry is not counted twice.
public final class StreamedBytes: Sendable {
    private let count = Atomic<UInt64>(0)

    public init() {}

    public var value: UInt64 { count.load(ordering: .relaxed) }

    func add(_ bytes: Int) { count.add(UInt64(bytes), ordering: .relaxed) }

    func takeBack(_ bytes: UInt64) { count.subtract(bytes, ordering: .relaxed) }
}
