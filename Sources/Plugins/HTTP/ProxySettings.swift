import AsyncHTTPClient
import FerryCore
import Foundation

/// The proxy a cache's requests go through, from the variables curl reads (README lists
/// them). Unlike curl, AsyncHTTPClient tunnels every request with `CONNECT`, http too, and
/// the proxy is chosen once per cache, by its host. The instance and container metadata
/// addresses (169.254.0.0/16, `fd00:ec2::/32`) are never proxied: the keys they hand out are
/// plain HTTP, and a proxy would reach its own machine's.
struct ProxySettings {
    let environment: EnvironmentVariables

    init(_ environment: EnvironmentVariables = EnvironmentVariables()) { self.environment = environment }

    /// The proxy for requests to `url`, nil for none.
    func proxy(for url: URLParts) throws(ConfigError) -> HTTPClient.Configuration.Proxy? {
        let host = Self.host(of: url.authority).lowercased()
        guard !Self.isMetadataService(host), !bypassed(host) else { return nil }
        let names = url.scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy"]
        for name in names + ["all_proxy", "ALL_PROXY"] {
            if let text = environment[name] { return try Self.parse(text, variable: name) }
        }
        return nil
    }

    /// Named by `no_proxy` (or `NO_PROXY`): a host itself, or a domain it is in (`*` for
    /// every host); an address as itself or in a network written `address/bits`, as curl
    /// 7.86 and later read it. Entries are split on commas and blanks.
    private func bypassed(_ host: String) -> Bool {
        let entries = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map { Self.entryHost(String($0)).lowercased() }
        if let address = IPNetwork(host) {
            return entries.contains { $0 == "*" || IPNetwork($0)?.contains(address) == true }
        }
        return entries.contains { entry in
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            return entry == "*" || host == domain || (!domain.isEmpty && host.hasSuffix("." + domain))
        }
    }

    private static let metadataNetworks = ["169.254.0.0/16", "fd00:ec2::/32"].compactMap(IPNetwork.init)

    private static func isMetadataService(_ host: String) -> Bool {
        IPNetwork(host).map { address in metadataNetworks.contains { $0.contains(address) } } ?? false
    }

    /// The host of a `no_proxy` entry: `host`, `host:port`, `[v6]:port` or a bare `v6`,
    /// without a trailing dot.
    private static func entryHost(_ entry: String) -> String {
        // A network's length stays with it: [fd00::]/8 is fd00::/8.
        if entry.hasPrefix("["), let slash = entry.lastIndex(of: "/"), entry[..<slash].hasSuffix("]") {
            return host(of: String(entry[..<slash])) + entry[slash...]
        }
        let host = entry.filter { $0 == ":" }.count > 1 && !entry.hasPrefix("[") ? entry : host(of: entry)
        return host.hasSuffix(".") ? String(host.dropLast()) : host
    }

    /// `host` of `host[:port]` or `[v6][:port]`.
    private static func host(of authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.prefix { $0 != ":" })
    }

    private static func parse(_ text: String, variable: String) throws(ConfigError) -> HTTPClient.Configuration.Proxy {
        var rest = text
        var scheme = "http"
        if let separator = rest.range(of: "://") {
            scheme = rest[..<separator.lowerBound].lowercased()
            rest = String(rest[separator.upperBound...])
        }
        rest = String(rest.prefix { !"/?#".contains($0) })
        var credentials: [String]?
        if let at = rest.lastIndex(of: "@") {
            credentials = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            rest = String(rest[rest.index(after: at)...])
        }
        // The value as the error shows it: a password stays out of logs.
        let shown = credentials == nil ? text : "\(scheme)://\(credentials![0]):***@\(rest)"
        func refuse(_ why: String) -> ConfigError { ConfigError("\(variable)=\(shown)", why) }
        guard ["http", "socks5", "socks5h"].contains(scheme) else {
            throw refuse("Ferry reaches proxies by http:// or socks5://, not \(scheme)://")
        }
        let host = Self.host(of: rest)
        let afterHost = rest.hasPrefix("[") ? (rest.firstIndex(of: "]").map { rest[rest.index(after: $0)...] } ?? "?") : rest.dropFirst(host.count)
        let port = afterHost.isEmpty ? 1080 : afterHost.hasPrefix(":") ? Int(afterHost.dropFirst()) : nil
        guard !host.isEmpty, let port, (1...65535).contains(port) else {
            throw refuse("is not [scheme://][user:password@]host[:port]")
        }
        guard scheme == "http" else {
            guard credentials == nil else { throw refuse("Ferry sends no user and password to a SOCKS proxy") }
            return .socksServer(host: host, port: port)
        }
        return .server(host: host, port: port, authorization: credentials.map { .basic(username: $0[0], password: $0.count > 1 ? $0[1] : "") })
    }
}
