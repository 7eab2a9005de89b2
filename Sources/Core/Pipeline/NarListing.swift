/// What a NAR holds, built while the NAR streams: the `.ls` listing Nix writes beside it
/// (`write-nar-listing=1`), `{"version":1,"root":{…}}` with Nix's key order and names
/// sorted bytewise, and the entries of a directory (for the debug-info index).
public struct NarListing: NarVisitor, Sendable {
    /// What an entry is, as a NAR records it.
    public enum EntryType: Sendable { case directory, regular, symlink }

    private indirect enum Node: Sendable {
        case directory([(name: [UInt8], node: Node)])
        case regular(size: UInt64, executable: Bool, offset: UInt64)
        case symlink(target: [UInt8])
    }

    /// The root when it is a file or a symlink, or the whole tree once `close()` folded it.
    private var closedRoot: Node?
    /// The directories from the root down to the one entries now arrive in, each with its
    /// entries so far. NAR entries come depth first, so a directory is complete once an
    /// entry outside it arrives, and is then folded into its parent: each entry is
    /// appended once, never copied with its siblings.
    private var open: [(name: [UInt8], entries: [(name: [UInt8], node: Node)])] = []

    public init() {}

    public mutating func directory(at path: NarEntryPath) throws { add(.directory([]), at: path) }

    public mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
        add(.regular(size: size, executable: executable, offset: offset), at: path)
    }

    public mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws {
        add(.symlink(target: target), at: path)
    }

    /// The listing's JSON text, once the whole NAR has been parsed.
    public var json: String {
        var out = "{\"version\":1,\"root\":"
        if let root { NarListing.write(root, to: &out) }
        return out + "}"
    }

    /// The entries of the directory at `components` (from the root, symlinks not
    /// followed), in NAR order; empty when there is no directory there.
    public func entries(of components: [String]) -> [(name: [UInt8], type: EntryType)] {
        var node = root
        for component in components {
            guard case .directory(let entries) = node else { return [] }
            node = entries.first { $0.name.elementsEqual(component.utf8) }?.node
        }
        guard case .directory(let entries) = node else { return [] }
        return entries.map { entry in
            switch entry.node {
            case .directory: (entry.name, .directory)
            case .regular: (entry.name, .regular)
            case .symlink: (entry.name, .symlink)
            }
        }
    }

    private mutating func add(_ node: Node, at path: NarEntryPath) {
        let name = path.name ?? []
        closeDirectories(from: path.depth)
        switch node {
        case .directory: open.append((name, []))
        case _ where path.isRoot: closedRoot = node
        default: open[open.count - 1].entries.append((name, node))
        }
    }

    /// Folds each open directory at depth `depth` or deeper into its parent; the root stays open.
    private mutating func closeDirectories(from depth: Int) {
        while open.count > max(depth, 1) {
            let done = open.removeLast()
            open[open.count - 1].entries.append((done.name, .directory(done.entries)))
        }
    }

    /// Folds what is still open into the tree, once the NAR has been parsed, so that
    /// reading the listing (the `.ls`, each folder of the debug-info index) folds nothing.
    public mutating func close() {
        closeDirectories(from: 1)
        if let root = open.popLast() { closedRoot = .directory(root.entries) }
    }

    /// The whole tree; a listing not closed yet is folded on a copy.
    private var root: Node? {
        guard !open.isEmpty else { return closedRoot }
        var folded = self
        folded.close()
        return folded.closedRoot
    }

    private static func write(_ node: Node, to out: inout String) {
        switch node {
        case .directory(let entries):
            out += "{\"type\":\"directory\",\"entries\":{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                out += jsonString(entry.name) + ":"
                write(entry.node, to: &out)
            }
            out += "}}"
        case .regular(let size, let executable, let offset):
            out += "{\"type\":\"regular\",\"size\":\(size)"
            if executable { out += ",\"executable\":true" }
            out += ",\"narOffset\":\(offset)}"
        case .symlink(let target):
            out += "{\"type\":\"symlink\",\"target\":\(jsonString(target))}"
        }
    }

    private static func jsonString(_ bytes: [UInt8]) -> String {
        var out = "\""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20: out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
