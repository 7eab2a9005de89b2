/// Decides which path a copy worker takes next and which NAR is published next.
///
/// Copies may finish in any order; publication follows the topological order strictly
/// (references first, in generations sorted by store path), so the destination never
/// shows a path whose references are missing and the log is the same every run. A failed
/// path fails its dependents too.
///
/// Into a binary cache, copies start largest NAR first: the longest copies then overlap
/// everything else instead of running alone at the end, while narinfos still go out in
/// topological order. For backends that need references first (a Nix store), copies
/// follow the topological order and a path is handed out only once its references are
/// published.
actor CopyScheduler {
    private enum State {
        case pending, running, uploaded(StoredNar), published, failed
    }

    /// Publication order: topological.
    private let order: [PathInfo]
    /// The order copies start in.
    private let copyOrder: [PathInfo]
    private let referencesFirst: Bool
    private var state: [StorePath: State]
    /// Indices below this are no longer pending.
    private var startCursor = 0
    private var publishCursor = 0
    private var publishing = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Failures the run reports, in the order they happened.
    private(set) var failures: [(path: StorePath, error: any Error)] = []
    /// Told of every failure as it happens, the ones the scheduler decides too (a path
    /// whose reference failed), so each failed path gets one event.
    private let onFailure: @Sendable (StorePath, any Error) -> Void

    init(order: [PathInfo], referencesFirst: Bool, onFailure: @escaping @Sendable (StorePath, any Error) -> Void = { _, _ in }) {
        self.order = order
        self.onFailure = onFailure
        // Largest NAR first; equal sizes keep their topological order (the smaller offset first).
        copyOrder = referencesFirst ? order : order.enumerated()
            .sorted { ($0.element.narSize, $1.offset) > ($1.element.narSize, $0.offset) }.map(\.element)
        self.referencesFirst = referencesFirst
        state = Dictionary(order.map { ($0.path, State.pending) }, uniquingKeysWith: { first, _ in first })
    }

    /// The next path to copy, or nil when no path is left to start.
    func nextCopy() async -> PathInfo? {
        while true {
            var anyPending = false
            for index in startCursor..<copyOrder.count {
                let info = copyOrder[index]
                guard case .pending = state[info.path]! else {
                    if index == startCursor { startCursor += 1 }
                    continue
                }
                if let failed = failedReference(of: info) {
                    fail(info.path, CopyError.referenceFailed(info.path, reference: failed))
                    continue
                }
                anyPending = true
                if referencesFirst && !referencesPublished(info) { continue }
                state[info.path] = .running
                return info
            }
            if !anyPending { return nil }
            await waitForChange()
        }
    }

    func uploaded(_ stored: StoredNar) {
        state[stored.info.path] = .uploaded(stored)
        notify()
    }

    func failed(_ path: StorePath, _ error: any Error) {
        fail(path, error)
    }

    /// The next NARs to publish, in topological order: the stored paths from the first
    /// one not yet published, up to the first that is still copying or that refers to one
    /// before it in the batch. None of a batch refers to another, so they can be published
    /// together. Empty when every path is done.
    func nextPublications() async -> [StoredNar] {
        precondition(!publishing, "one publisher at a time")
        while publishCursor < order.count {
            let batch = readyBatch()
            if !batch.isEmpty {
                publishing = true
                return batch
            }
            if publishCursor < order.count { await waitForChange() }
        }
        return []
    }

    /// The publisher's answer for each path `nextPublications` handed it: nil when it
    /// was published.
    func publicationsDone(_ results: [(path: StorePath, error: (any Error)?)]) {
        for (path, error) in results {
            if let error { fail(path, error) } else { state[path] = .published }
        }
        publishing = false
        notify()
    }

    /// Moves the cursor past what is finished and collects the batch that follows it.
    private func readyBatch() -> [StoredNar] {
        var batch: [StoredNar] = []
        var inBatch: Set<StorePath> = []
        var index = publishCursor
        scan: while index < order.count {
            let info = order[index]
            switch state[info.path]! {
            case .failed, .published:
                if batch.isEmpty { publishCursor = index + 1 }
            case .uploaded(let stored):
                if let failed = failedReference(of: info) {
                    fail(info.path, CopyError.referenceFailed(info.path, reference: failed))
                    if batch.isEmpty { publishCursor = index + 1 }
                } else if info.references.contains(where: { $0 != info.path && inBatch.contains($0) }) {
                    break scan
                } else {
                    batch.append(stored)
                    inBatch.insert(info.path)
                }
            case .pending, .running:
                break scan
            }
            index += 1
        }
        return batch
    }

    private func fail(_ path: StorePath, _ error: any Error) {
        state[path] = .failed
        failures.append((path, error))
        onFailure(path, error)
        notify()
    }

    private func failedReference(of info: PathInfo) -> StorePath? {
        info.references.sorted().first { ref in
            guard ref != info.path, let s = state[ref] else { return false }
            if case .failed = s { return true }
            return false
        }
    }

    private func referencesPublished(_ info: PathInfo) -> Bool {
        info.references.allSatisfy { ref in
            guard ref != info.path, let s = state[ref] else { return true }
            if case .published = s { return true }
            return false
        }
    }

    private func waitForChange() async {
        await withCheckedContinuation { waiting.append($0) }
    }

    private func notify() {
        let woken = waiting
        waiting.removeAll()
        for continuation in woken { continuation.resume() }
    }
}
