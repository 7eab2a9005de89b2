import AsyncHTTPClient
import FerryCore
import Testing
@testable import FerryHTTP

@Suite("proxies from the environment, as curl reads them")
struct ProxySettingsTests {
    private let https = URLParts(scheme: "https", authority: "cache.example.org", path: "/")
    private let http = URLParts(scheme: "http", authority: "cache.example.org:8080", path: "/")

    private func proxy(_ variables: [String: String], for url: URLParts) throws -> HTTPClient.Configuration.Proxy? {
        try ProxySettings(variables).proxy(for: url)
    }

    @Test("https_proxy for https, http_proxy (lower case only) for http, all_proxy for both; credentials and SOCKS")
    func chosen() throws {
        #expect(try proxy(["HTTPS_PROXY": "http://proxy:3128"], for: https) == .server(host: "proxy", port: 3128))
        #expect(try proxy(["https_proxy": "http://u:p%40ss@proxy:3128/"], for: https)
                == .server(host: "proxy", port: 3128, authorization: .basic(username: "u", password: "p@ss")))
        #expect(try proxy(["HTTP_PROXY": "http://proxy:3128"], for: http) == nil, "HTTP_PROXY may come from a CGI request header")
        #expect(try proxy(["http_proxy": "proxy"], for: http) == .server(host: "proxy", port: 1080))
        #expect(try proxy(["https_proxy": "http://proxy:3128"], for: http) == nil)
        #expect(try proxy(["ALL_PROXY": "socks5://[::1]:9050"], for: http) == .socksServer(host: "::1", port: 9050))
        #expect(try proxy(["https_proxy": "", "all_proxy": "http://fallback:8"], for: https) == .server(host: "fallback", port: 8))
        #expect(try proxy([:], for: https) == nil)
    }

    @Test("no_proxy names hosts and the domains they are in, ports aside; * names every host", arguments: [
        ("cache.example.org", true), (".example.org", true), ("example.org:443", true), ("*", true),
        ("other.org, cache.example.org", true), ("example", false), ("ache.example.org", false), ("", false),
    ])
    func bypass(noProxy: String, bypassed: Bool) throws {
        let chosen = try proxy(["https_proxy": "http://proxy:3128", "NO_PROXY": noProxy], for: https)
        #expect((chosen == nil) == bypassed, "\(noProxy)")
    }

    @Test("a proxy that cannot be used is a configuration error naming the variable")
    func refused() {
        for (value, reason) in [("ftp://proxy:21", "not ftp://"), ("http://proxy:http", "host[:port]"), ("http://:3128", "host[:port]"),
                                ("socks5://u:p@proxy", "no user and password to a SOCKS proxy")] {
            #expect {
                _ = try proxy(["https_proxy": value], for: https)
            } throws: { error in
                "\(error)".contains("https_proxy=\(value)") && "\(error)".contains(reason)
            }
        }
    }
}
