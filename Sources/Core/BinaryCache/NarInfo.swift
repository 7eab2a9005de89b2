/// A binary cache's `<hashpart>.narinfo`: a path's metadata and where its NAR file is.
///
/// Parsing follows Nix's `NarInfo` constructor (unknown keys ignored; `StorePath`,
/// `URL`, `NarHash` and a non-zero `NarSize` required; no or an empty `Compression` means
/// bzip2; a `CA` must parse as a content address);
/// rendering writes Nix's field order, so a file Nix wrote re-renders to its own bytes.
public struct NarInfo: Hashable, Sendable {
    public var info: PathInfo
    /// The NAR file, relative to the cache root: `nar/<FileHash nix32>.nar.zst`.
    public var url: String
    /// `xz`, `zstd`, `bzip2`, `none`, …
    public var compression: String
    public var fileHash: Hash?
    public var fileSize: UInt64?
    /// Written by Nix up to 2.9 when known; kept so such files re-render as they were.
    public var system: String?

    public init(info: PathInfo, url: String, compression: String, fileHash: Hash?, fileSize: UInt64?,
                system: String? = nil) {
        self.info = info
        self.url = url
        self.compression = compression
        self.fileHash = fileHash
        self.fileSize = fileSize
        self.system = system
    }

    /// Parses a narinfo file; `source` names it in errors.
    public init(parsing text: String, source: String = "narinfo",
                storeDir: String = StorePath.defaultStoreDir) throws(NarInfoError) {
        let (lines, malformed) = KeyValueLines.parse(text)
        if let bad = malformed.first {
            throw NarInfoError(source: source, line: bad.number, reason: "expected 'Key: value'")
        }
        var path: StorePath?, narHash: Hash?, narSize: UInt64?, url: String?
        var compression: String?, fileHash: Hash?, fileSize: UInt64?, deriver: StorePath?
        var references: Set<StorePath> = [], signatures: Set<String> = []
        var ca: String?, system: String?
        for line in lines {
            func fail(_ reason: String) -> NarInfoError {
                NarInfoError(source: source, line: line.number, reason: reason)
            }
            let value = String(line.value)
            do {
                switch line.key {
                case "StorePath": path = try StorePath(value, storeDir: storeDir)
                case "URL": url = value
                case "Compression": compression = value.isEmpty ? nil : value
                case "FileHash": fileHash = try Hash(parsing: value)
                case "FileSize":
                    guard let n = UInt64(value) else { throw fail("FileSize is not a number") }
                    fileSize = n
                case "NarHash": narHash = try Hash(parsing: value)
                case "NarSize":
                    guard let n = UInt64(value) else { throw fail("NarSize is not a number") }
                    narSize = n
                case "References":
                    // As Nix: a second line is refused only after one that named paths.
                    guard references.isEmpty else { throw fail("References appears twice") }
                    for name in value.split(separator: " ") {
                        references.insert(try StorePath(baseName: String(name), storeDir: storeDir))
                    }
                case "Deriver":
                    if value != "unknown-deriver" { deriver = try StorePath(baseName: value, storeDir: storeDir) }
                case "Sig": signatures.insert(value)
                case "CA":
                    guard ca == nil else { throw fail("CA appears twice") }
                    // Nix reads an empty CA as none; anything else must parse.
                    if !value.isEmpty {
                        _ = try ContentAddress(parsing: value)
                        ca = value
                    }
                case "System": system = value
                default: break
                }
            } catch let error as NarInfoError {
                throw error
            } catch {
                throw fail("\(line.key): \(error)")
            }
        }
        guard let path else { throw NarInfoError(source: source, line: nil, reason: "StorePath is missing") }
        guard let narHash else { throw NarInfoError(source: source, line: nil, reason: "NarHash is missing") }
        guard let url, !url.isEmpty else { throw NarInfoError(source: source, line: nil, reason: "URL is missing") }
        guard let narSize, narSize != 0 else {
            throw NarInfoError(source: source, line: nil, reason: "NarSize is missing or zero")
        }
        self.init(info: PathInfo(path: path, deriver: deriver, narHash: narHash, narSize: narSize,
                                 references: references, signatures: signatures, contentAddress: ca),
                  url: url, compression: compression ?? "bzip2", fileHash: fileHash, fileSize: fileSize,
                  system: system)
    }

    /// The file's text, in Nix's order: StorePath, URL, Compression, FileHash, FileSize,
    /// NarHash, NarSize, References, Deriver, System, Sig…, CA.
    public func rendered() -> String {
        var text = "StorePath: \(info.path.path)\n"
        text += "URL: \(url)\n"
        text += "Compression: \(compression)\n"
        if let fileHash { text += "FileHash: \(fileHash.rendered(.nix32))\n" }
        if let fileSize { text += "FileSize: \(fileSize)\n" }
        text += "NarHash: \(info.narHash.rendered(.nix32))\n"
        text += "NarSize: \(info.narSize)\n"
        text += "References: \(info.sortedReferences.map(\.baseName).joined(separator: " "))\n"
        if let deriver = info.deriver { text += "Deriver: \(deriver.baseName)\n" }
        if let system, !system.isEmpty { text += "System: \(system)\n" }
        for signature in info.sortedSignatures { text += "Sig: \(signature)\n" }
        if let ca = info.contentAddress { text += "CA: \(ca)\n" }
        return text
    }

    /// `nar/<nix32 FileHash>.nar<extension>`, the name Nix gives a NAR file.
    /// Where the narinfo of `path` lives in a cache: `<hashpart>.narinfo`.
    public static func key(for path: StorePath) -> String { "\(path.hashPart).narinfo" }

    public static func narURL(fileHash: Hash, compression: String) -> String {
        "nar/\(fileHash.encoded(.nix32)).nar\(fileExtension(compression: compression))"
    }

    /// The extension Nix adds for a compression method (`binary-cache-store.cc`).
    public static func fileExtension(compression: String) -> String {
        switch compression {
        case "xz": ".xz"
        case "bzip2": ".bz2"
        case "zstd": ".zst"
        case "lzip": ".lzip"
        case "lz4": ".lz4"
        case "br": ".br"
        default: ""  // none, and methods Nix gives no extension (gzip)
        }
    }
}

/// A narinfo file that cannot be read, and where.
public struct NarInfoError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let line: Int?
    public let reason: String
    public var description: String {
        "invalid narinfo \(source)\(line.map { " line \($0)" } ?? ""): \(reason)"
    }
}
