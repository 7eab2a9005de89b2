/// Orders path infos references first, in generations: first the paths that refer to
/// none of the others, then those that refer only to the first generation, and so on,
/// each generation sorted by store path. The same inputs always give the same order (and
/// the same files and log), and the paths of a generation never refer to each other, so
/// a long run of them can be published at once.
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
        var generation = waitingOn.filter { $0.value == 0 }.map(\.key).sorted()
        var order: [PathInfo] = []
        order.reserveCapacity(byPath.count)
        while !generation.isEmpty {
            var next: [StorePath] = []
            for path in generation {
                order.append(byPath[path]!)
                for dependent in dependents[path] ?? [] {
                    waitingOn[dependent]! -= 1
                    if waitingOn[dependent] == 0 { next.append(dependent) }
                }
            }
            generation = next.sorted()
        }
        guard order.count == byPath.count else {
            throw CycleError(paths: waitingOn.filter { $0.value > 0 }.map(\.key).sorted())
        }
        return order
    }
}

/// Paths that reference each other in a circle, which a valid Nix store never holds.
public struct CycleError: Error, CustomStringConvertible {
    public let paths: [StorePath]
    public var description: String {
        "these paths reference each other in a cycle: " + paths.map(\.path).joined(separator: ", ")
    }
}
