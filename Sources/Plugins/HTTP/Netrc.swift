import Foundation

/// Credentials from a `.netrc` file, as curl (and so Nix) reads it: `machine HOST login
/// USER password SECRET`, with `default` for any other host.
struct Netrc: Sendable {
    struct Entry: Sendable, Equatable {
        var login: String?
        var password: String?
    }

    /// Nix's `netrc-file` default, so the credentials `nix copy` uses are Ferry's too.
    static var defaultFile: String {
        (ProcessInfo.processInfo.environment["NIX_CONF_DIR"] ?? "/etc/nix") + "/netrc"
    }

    private var machines: [String: Entry] = [:]
    private var fallback: Entry?

    init(parsing text: String) {
        var tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .map(String.init).makeIterator()
        var current: (host: String?, entry: Entry)?
        func close() {
            guard let finished = current else { return }
            if let host = finished.host { machines[host] = machines[host] ?? finished.entry } else { fallback = finished.entry }
        }
        while let token = tokens.next() {
            switch token {
            case "machine":
                close()
                current = (tokens.next(), Entry())
            case "default":
                close()
                current = (nil, Entry())
            case "login": current?.entry.login = tokens.next()
            case "password": current?.entry.password = tokens.next()
            case "account", "macdef": _ = tokens.next()
            default: break
            }
        }
        close()
    }

    /// The entry for `host`, or the `default` one.
    func entry(for host: String) -> Entry? { machines[host] ?? fallback }
}
