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

    private var root: Node?

    public init() {}

    public mutating func directory(at path: NarEntryPath) throws { insert(.directory([]), at: path) }

    public mutating func regularFile(at path: NarEntryPath, executable: Bool, size: UInt64, offset: UInt64) throws {
        insert(.regular(size: size, executable: executable, offset: offset), at: path)
    }

    public mutating func symlink(at path: NarEntryPath, target: [UInt8]) throws {
        insert(.symlink(target: target), at: path)
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

    private mutating func insert(_ node: Node, at path: NarEntryPath) {
        guard !path.isRoot else { root = node; return }
        NarListing.insert(node, at: path.components[...], into: &root!)
    }

    /// Entries arrive in NAR order, so each new one goes at the end of the last directory.
    private static func insert(_ node: Node, at components: ArraySlice<[UInt8]>, into parent: inout Node) {
        guard case .directory(var entries) = parent else { return }
        if components.count == 1 {
            entries.append((components.first!, node))
        } else {
            insert(node, at: components.dropFirst(), into: &entries[entries.count - 1].node)
        }
        parent = .directory(entries)
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
