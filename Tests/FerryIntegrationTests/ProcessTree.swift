import Foundation

/// Every process below `pid` (children, their children …), read from /proc: how a fault
/// test finds the processes it may stop or kill, and no others.
func descendants(of pid: Int32) -> [Int32] {
    var children: [Int32: [Int32]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let p = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { continue }
        let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        if rest.count > 1, let parent = Int32(rest[1]) { children[parent, default: []].append(p) }
    }
    var found: [Int32] = [], todo = [pid]
    while let next = todo.popLast() {
        for child in children[next] ?? [] {
            found.append(child)
            todo.append(child)
        }
    }
    return found
}

/// A process's command line with its arguments joined by spaces; empty once it is gone.
func commandLine(of pid: Int32) -> String {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
    return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
}
