/// Orders path infos references first, ties broken by store path, so the same inputs
/// always give the same order (and the same files and log).
///
/// References to paths outside `infos` (already at the destination) and
/// self-references do not constrain the order.
public enum TopologicalOrder {
    public static func sort(_ infos: [PathInfo]) throws(CycleError) -> [PathInfo] {
        let byPath = Dictionary(infos.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var waitingOn: [StorePath: Int] = [:]
        var dependents: [StorePath: [StorePath]] = [:]
        for info in byPath.values {
            let refs = info.references.filter { $0 != info.path && byPath[$0] != nil }
            waitingOn[info.path] = refs.count
            for ref in refs { dependents[ref, default: []].append(info.path) }
        }
        // Paths whose references are all placed, kept sorted descending so the smallest pops last.
        var ready = waitingOn.filter { $0.value == 0 }.map(\.key).sorted(by: >)
        var order: [PathInfo] = []
        order.reserveCapacity(byPath.count)
        while let next = ready.popLast() {
            order.append(byPath[next]!)
            for dependent in dependents[next] ?? [] {
                waitingOn[dependent]! -= 1
                if waitingOn[dependent] == 0 { insertDescending(dependent, into: &ready) }
            }
        }
        guard order.count == byPath.count else {
            throw CycleError(paths: waitingOn.filter { $0.value > 0 }.map(\.key).sorted())
        }
        return order
    }

    private static func insertDescending(_ path: StorePath, into ready: inout [StorePath]) {
        var low = 0, high = ready.count
        while low < high {
            let mid = (low + high) / 2
            if ready[mid] > path { low = mid + 1 } else { high = mid }
        }
        ready.insert(path, at: low)
    }
}

/// Paths that reference each other in a circle, which a valid Nix store never holds.
public struct CycleError: Error, CustomStringConvertible {
    public let paths: [StorePath]
    public var description: String {
        "these paths reference each other in a cycle: " + paths.map(\.path).joined(separator: ", ")
    }
}
