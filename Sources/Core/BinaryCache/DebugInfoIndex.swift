/// Nix's index of DWARF debug info (`index-debug-info=1`), which dwarffs and debuginfod
/// servers read: for each regular file `lib/debug/.build-id/xx/<38 hex digits>.debug` of a
/// NAR, the file `debuginfo/<build id>.debug` holds
/// `{"archive":"../<the NAR's URL>","member":"lib/debug/.build-id/xx/….debug"}`.
enum DebugInfoIndex {
    /// The cache's folder of links.
    static let folder = "debuginfo"
    private static let directory = ["lib", "debug", ".build-id"]

    /// The index's files for one NAR, stored at `narURL` (`nar/….nar.xz`); each appears
    /// only with that NAR.
    static func files(of listing: NarListing, narURL: String) -> [CacheFile] {
        listing.entries(of: directory).flatMap { prefix, type -> [CacheFile] in
            guard type == .directory, isHex(prefix, count: 2) else { return [] }
            let hex = String(decoding: prefix, as: UTF8.self)
            return listing.entries(of: directory + [hex]).compactMap { name, type in
                guard type == .regular, name.count == 38 + 6, isHex(name.prefix(38), count: 38),
                      name.suffix(6).elementsEqual(".debug".utf8) else { return nil }
                let file = String(decoding: name, as: UTF8.self)
                let member = (directory + [hex, file]).joined(separator: "/")
                let json = #"{"archive":"../\#(narURL)","member":"\#(member)"}"#
                return CacheFile(key: "\(folder)/\(hex)\(file)", bytes: Array(json.utf8),
                                 contentType: CacheContentType.debugInfo, requires: narURL)
            }
        }
    }

    /// Lower-case hexadecimal digits only, as Nix's pattern takes them.
    private static func isHex(_ bytes: some Collection<UInt8>, count: Int) -> Bool {
        bytes.count == count && bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
