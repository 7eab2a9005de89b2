import AsyncHTTPClient
import FerryCore
import Foundation

/// The proxy a request goes through, from the variables curl (and so Nix) reads:
/// `https_proxy` (or `HTTPS_PROXY`) for https, `http_proxy` for http (lower case only, as
/// curl: a CGI's `HTTP_PROXY` may come from a request header), else `all_proxy` (or
/// `ALL_PROXY`); none for a host that `no_proxy` (or `NO_PROXY`) names, itself or as a
/// domain it is in (`*` names every host). A proxy is `http://[user:password@]host[:port]`
/// (port 1080 by default, as curl) or `socks5://host[:port]`.
struct ProxySettings {
    let variables: [String: String]

    init(_ variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables.filter { !$0.value.isEmpty }
    }

    /// The proxy for requests to `url`, nil for none.
    func proxy(for url: URLParts) throws(ConfigError) -> HTTPClient.Configuration.Proxy? {
        let host = Self.host(of: url.authority)
        guard !bypassed(host) else { return nil }
        let names = url.scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy"]
        guard let (name, text) = (names + ["all_proxy", "ALL_PROXY"]).lazy.compactMap({ name in variables[name].map { (name, $0) } }).first
        else { return nil }
        return try Self.parse(text, variable: name)
    }

    private func bypassed(_ host: String) -> Bool {
        let entries = (variables["no_proxy"] ?? variables["NO_PROXY"] ?? "").split(separator: ",").map {
            Self.host(of: $0.trimmingCharacters(in: .whitespaces)).lowercased()
        }
        let host = host.lowercased()
        return entries.contains { entry in
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            return entry == "*" || host == domain || (!domain.isEmpty && host.hasSuffix("." + domain))
        }
    }

    /// `host` of `host:port` or `[v6]:port`.
    private static func host(of authority: String) -> String {
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return String(authority.prefix { $0 != ":" })
    }

    private static func parse(_ text: String, variable: String) throws(ConfigError) -> HTTPClient.Configuration.Proxy {
        func refuse(_ why: String) -> ConfigError { ConfigError("\(variable)=\(text)", why) }
        var rest = text
        var scheme = "http"
        if let separator = rest.range(of: "://") {
            scheme = rest[..<separator.lowerBound].lowercased()
            rest = String(rest[separator.upperBound...])
        }
        guard ["http", "socks5", "socks5h"].contains(scheme) else {
            throw refuse("Ferry reaches proxies by http:// or socks5://, not \(scheme)://")
        }
        rest = String(rest.prefix { $0 != "/" })
        var authorization: HTTPClient.Authorization?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            authorization = .basic(username: credentials[0], password: credentials.count > 1 ? credentials[1] : "")
            rest = String(rest[rest.index(after: at)...])
        }
        let host = Self.host(of: rest)
        let portText = rest.dropFirst(rest.hasPrefix("[") ? host.count + 2 : host.count).drop { $0 == ":" }
        guard !host.isEmpty, let port = portText.isEmpty ? 1080 : Int(portText), (1...65535).contains(port) else {
            throw refuse("is not [scheme://][user:password@]host[:port]")
        }
        if scheme != "http" {
            guard authorization == nil else { throw refuse("Ferry sends no user and password to a SOCKS proxy") }
            return .socksServer(host: host, port: port)
        }
        return .server(host: host, port: port, authorization: authorization)
    }
}
