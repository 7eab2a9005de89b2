/// Builds the `.ls` listing Nix writes beside a NAR (`write-nar-listing=1`) while the NAR
/// streams: `{"version":1,"root":{…}}` with Nix's key order and names sorted bytewise.
public struct NarListing: NarVisitor {
    private indirect enum Node {
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
