/// Constants of Nix's legacy "serve" protocol (`nix-store --serve`, `ssh://` stores).
public enum ServeProtocol {
    public static let magic1: UInt64 = 0x390c_9deb
    public static let magic2: UInt64 = 0x5452_eecb
    /// What Ferry announces: 2.7, which every Nix from 2.4 to 2.34 speaks.
    public static let clientVersion: UInt64 = 0x207
    /// The oldest server Ferry accepts: 2.5 brought AddToStoreNar.
    public static let minimumServerVersion: UInt64 = 0x205

    public enum Command: UInt64 {
        case queryValidPaths = 1
        case queryPathInfos = 2
        case dumpStorePath = 3
        case queryClosure = 7
        case addToStoreNar = 9
    }

    static func major(_ version: UInt64) -> UInt64 { version & 0xff00 }

    /// `2.5` for 0x205, as Nix writes a protocol version.
    public static func versionText(_ version: UInt64) -> String { "\(version >> 8).\(version & 0xff)" }

    /// Longest store path, hash or signature string accepted in a reply.
    static let maxPathLength = 4096
    static let maxFieldLength = 4096
}
