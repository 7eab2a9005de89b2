import Foundation
#if canImport(Glibc)
import Glibc
#endif

// What tests look at in a folder cache while a copy runs and after it stops.

/// Ferry's temporary files left in a folder cache and its `nar/`.
func temporaries(_ cache: String) -> [String] {
    [cache, cache + "/nar"].flatMap { dir in
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".ferry-") }
    }
}

/// The narinfo files of a folder cache, by name; throws if the folder is not there.
func narinfos(in cache: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".narinfo") }
}

/// Every entry of a directory (hidden ones included) with its size; empty if it is not there.
func directorySizes(_ path: String) -> [String: Int] {
    guard let dir = opendir(path) else { return [:] }
    defer { closedir(dir) }
    var sizes: [String: Int] = [:]
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var info = stat()
        if name != ".", name != "..", stat(path + "/" + name, &info) == 0 { sizes[name] = Int(info.st_size) }
    }
    return sizes
}
