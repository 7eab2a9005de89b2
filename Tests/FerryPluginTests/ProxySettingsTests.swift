import AsyncHTTPClient
import FerryCore
import Testing
@testable import FerryHTTP

@Suite("proxies from the environment, as curl reads them")
struct ProxySettingsTests {
    private let https = URLParts(scheme: "https", authority: "cache.example.org", path: "/")
    private let http = URLParts(scheme: "http", authority: "cache.example.org:8080", path: "/")

    private func proxy(_ variables: [String: String], for url: URLParts) throws -> HTTPClient.Configuration.Proxy? {
        try ProxySettings(EnvironmentVariables(variables)).proxy(for: url)
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
        ("other.org, cache.example.org", true), ("other.org cache.example.org.", true), ("CACHE.example.org", true),
        ("example", false), ("ache.example.org", false), ("", false),
    ])
    func bypass(noProxy: String, bypassed: Bool) throws {
        let chosen = try proxy(["https_proxy": "http://proxy:3128", "NO_PROXY": noProxy], for: https)
        #expect((chosen == nil) == bypassed, "\(noProxy)")
    }

    @Test("addresses match themselves, IPv6 ones written bare or in brackets, and the networks (address/bits) they are in; the metadata services are never proxied")
    func addresses() throws {
        let proxied = ["https_proxy": "http://proxy:3128", "http_proxy": "http://proxy:3128"]
        let loopback6 = URLParts(scheme: "http", authority: "[::1]:8080", path: "/")
        let ten = URLParts(scheme: "http", authority: "10.0.0.1", path: "/")
        #expect(try proxy(proxied.merging(["no_proxy": "localhost,127.0.0.1,::1"]) { $1 }, for: loopback6) == nil)
        #expect(try proxy(proxied.merging(["no_proxy": "[::1]:8080"]) { $1 }, for: loopback6) == nil)
        #expect(try proxy(proxied.merging(["no_proxy": "0.1"]) { $1 }, for: ten) != nil, "an address is no domain")
        for (network, inside) in [("10.0.0.0/8", true), ("10.0.0.0/32", false), ("10.0.0.1/32", true), ("0.0.0.0/0", true),
                                  ("11.0.0.0/7", true), ("12.0.0.0/7", false), ("10.128.0.0/9", false), ("::/0", false), ("10.0.0.0/33", false)] {
            #expect(try (proxy(proxied.merging(["no_proxy": "localhost, \(network)"]) { $1 }, for: ten) == nil) == inside, "\(network)")
        }
        for (network, inside) in [("::/127", true), ("[::]/127", true), ("::2/127", false), ("[::2]/127", false), ("0:0::1", true), ("fe80::/10", false), ("0.0.0.0/0", false)] {
            #expect(try (proxy(proxied.merging(["no_proxy": network]) { $1 }, for: loopback6) == nil) == inside, "\(network)")
        }
        for metadata in ["169.254.169.254", "169.254.170.2", "[fd00:ec2::254]", "[fd00:0ec2::23]"] {
            #expect(try proxy(proxied, for: URLParts(scheme: "http", authority: metadata, path: "/")) == nil, "\(metadata)")
        }
    }

    @Test("proxy URLs: a path, query or fragment ends the address; brackets must close")
    func parsed() throws {
        #expect(try proxy(["https_proxy": "http://proxy:3128/?x#y"], for: https) == .server(host: "proxy", port: 3128))
        #expect(try proxy(["https_proxy": "http://[::1]"], for: https) == .server(host: "::1", port: 1080))
    }

    @Test("a proxy that cannot be used is a configuration error naming the variable, with any password hidden")
    func refused() {
        for (value, shown, reason) in [
            ("ftp://proxy:21", "ftp://proxy:21", "not ftp://"), ("http://proxy:http", "http://proxy:http", "host[:port]"),
            ("http://:3128", "http://:3128", "host[:port]"), ("http://proxy::80", "http://proxy::80", "host[:port]"),
            ("http://[::1", "http://[::1", "host[:port]"),
            ("socks5://u:secret@proxy", "socks5://u:***@proxy", "no user and password to a SOCKS proxy"),
        ] {
            #expect {
                _ = try proxy(["https_proxy": value], for: https)
            } throws: { error in
                "\(error)".contains("https_proxy=\(shown)") && "\(error)".contains(reason) && !"\(error)".contains("secret")
            }
        }
    }
}
