import FerryCore
import Foundation
import Logging

/// The `ssh` source and backend: a Nix store on another machine through
/// `nix-store --serve` over SSH, as Nix's `ssh://` store reaches it.
public enum SSHStore {
    static let options = [
        PluginOption("host", "string", "the machine (ssh://HOST)"),
        PluginOption("user", "string", default: "$USER", "the user to log in as (ssh://USER@HOST); openssh: unset, ~/.ssh/config or NIX_SSHOPTS may give it"),
        PluginOption("port", "integer", default: "22", "the SSH port (ssh://HOST:PORT); openssh: unset, ~/.ssh/config or NIX_SSHOPTS may give it"),
        PluginOption("ssh-key", "path", "private key file; default: the agent, then ~/.ssh/id_ed25519, id_ecdsa"),
        PluginOption("known-hosts", "path", default: "~/.ssh/known_hosts", "host keys to trust"),
        PluginOption("base64-ssh-public-host-key", "string", "the host's key, base64 of its 'type key' line (as Nix)"),
        PluginOption("accept-new-host-key", "bool", default: "false", "record an unknown host's key (a changed key is still refused)"),
        PluginOption("remote-program", "string", default: "nix-store", "the nix-store program on the remote"),
        PluginOption("remote-store", "string", "the store on the remote (its --store)"),
        PluginOption("connect-timeout", "duration", default: "30s", "connecting, handshake and login"),
        PluginOption("io-timeout", "duration", default: "120s", "no byte moved for this long is an error"),
        PluginOption("keepalive", "duration", default: "15s", "SSH keepalive interval; 0 turns it off"),
        PluginOption("max-connections", "integer", default: "jobs", "SSH sessions at most for NARs in parallel; a source opens one more, which holds its paths for the run"),
        PluginOption("compress", "bool", default: "false", "zlib on the connection when the server offers it, as Nix's compress and nix-copy-closure --gzip: for slow links (openssh also follows ~/.ssh/config)"),
        PluginOption("transport", "string", default: "libssh2", "libssh2, or openssh for the system ssh (~/.ssh/config, ProxyJump, RSA keys)"),
    ]

    /// `ssh://user@host:port?…`: the authority becomes host, user, port.
    static func urlValues(_ url: StoreURL) throws(ConfigError) -> [String: ConfigValue] {
        var values = try Plugin<any StoreSource>.queryValues(url)
        guard let host = url.host else { throw ConfigError("store URL '\(url)'", "an ssh:// URL needs a host: ssh://[user@]host[:port]") }
        values["host"] = .string(host)
        if let user = url.user { values["user"] = .string(user) }
        if let port = url.port { values["port"] = .string(String(port)) }
        return values
    }

    /// Everything a connection needs, read from the settings once.
    struct Settings {
        let endpoint: SSHEndpoint
        let transport: String
        let connections: Int
        /// For `-vv`: each session opened, how, and how long it took.
        let logger: Logger

        init(_ settings: PluginSettings, context: PluginContext) throws {
            let host = try settings.required("host", "which machine?")
            // An empty user (ssh://@host) is none: the transport's default.
            let user = try settings.string("user").flatMap { $0.isEmpty ? nil : $0 }
            // As Nix refuses them: ssh would read `-oProxyCommand=…` as an option.
            for (key, value) in [("host", host), ("user", user ?? "")] where value.hasPrefix("-") {
                throw settings.error(key, "'\(value)' starts with '-', which ssh would take for an option")
            }
            let port = try settings.int("port")
            guard port.map({ (1...65535).contains($0) }) ?? true else { throw settings.error("port", "must be 1 to 65535") }
            var pinned: HostKey?
            if let base64 = try settings.string("base64-ssh-public-host-key") {
                guard let data = Data(base64Encoded: base64), let key = HostKey(line: String(decoding: data, as: UTF8.self)) else {
                    throw settings.error("base64-ssh-public-host-key", "is not the base64 of a 'type key' line")
                }
                pinned = key
            }
            let identityFile = try settings.path("ssh-key")
            // Checked before any connection, for either transport: retrying a host cannot mend it.
            if let identityFile, !FileManager.default.isReadableFile(atPath: identityFile) {
                throw settings.error("ssh-key", "cannot read the key file \(identityFile)")
            }
            let keepalive = try settings.duration("keepalive") ?? .seconds(15)
            endpoint = SSHEndpoint(
                host: host, givenUser: user, givenPort: port,
                identityFile: identityFile,
                knownHostsFile: try settings.path("known-hosts") ?? expandingTilde("~/.ssh/known_hosts"),
                pinnedHostKey: pinned, acceptNewHostKey: try settings.bool("accept-new-host-key") ?? false,
                connectTimeout: try settings.duration("connect-timeout") ?? .seconds(30),
                ioTimeout: try settings.duration("io-timeout") ?? .seconds(120),
                keepalive: keepalive == .zero ? nil : keepalive,
                remoteProgram: try settings.string("remote-program") ?? "nix-store",
                remoteStore: try settings.string("remote-store"),
                compress: try settings.bool("compress") ?? false)
            transport = try settings.string("transport") ?? "libssh2"
            guard ["libssh2", "openssh"].contains(transport) else { throw settings.error("transport", "is libssh2 or openssh, not '\(transport)'") }
            connections = try settings.int("max-connections") ?? context.jobs
            guard connections >= 1 else { throw settings.error("max-connections", "must be 1 or more") }
            logger = context.logger
        }

        /// The store as a URL names it: the host, and the store there when not its default,
        /// so two stores on one host are told apart in messages.
        var storeDescription: String {
            endpoint.description + (endpoint.remoteStore.map { "?remote-store=\($0)" } ?? "")
        }

        var connect: ServeConnectionPool.Connect {
            { [endpoint, transport, logger] in
                let began = ContinuousClock.now
                logger.debug("opening an SSH session", metadata: ["peer": "\(endpoint.description)", "transport": "\(transport)"])
                let stream: any ServeTransport = transport == "openssh"
                    ? try OpenSSHTransport.open(endpoint) : try await SSHChannelTransport.open(endpoint)
                let client = try await ServeClient.connect(over: stream)
                logger.debug("SSH session ready", metadata: [
                    "peer": "\(endpoint.description)", "command": "\(endpoint.serveCommand)",
                    "protocol": "\(ServeProtocol.versionText(client.protocolVersion))",
                    "ms": "\((ContinuousClock.now - began).milliseconds)",
                ])
                return client
            }
        }
    }

    /// `ssh-ng://` reaches the same store through the daemon protocol, which Ferry does not speak.
    static let nearbySchemes = [
        "ssh-ng": "Ferry does not speak Nix's daemon protocol; ssh://[user@]host reaches the same store through nix-store --serve",
    ]

    public static let source = Plugin<any StoreSource>(
        kind: .source, name: "ssh", summary: "a Nix store on another machine, through nix-store --serve over SSH",
        options: options, schemes: ["ssh"], nearbySchemes: nearbySchemes, urlValues: urlValues
    ) { settings, context in
        let ssh = try Settings(settings, context: context)
        return ServeStoreSource(description: ssh.storeDescription, maxConnections: ssh.connections, connect: ssh.connect)
    }

    public static let backend = Plugin<any StoreBackend>(
        kind: .backend, name: "ssh", summary: "import into a Nix store on another machine over SSH (AddToStoreNar)",
        options: options, schemes: ["ssh"], nearbySchemes: nearbySchemes, urlValues: urlValues
    ) { settings, context in
        let ssh = try Settings(settings, context: context)
        return ServeStoreBackend(description: ssh.storeDescription, maxConnections: ssh.connections, connect: ssh.connect)
    }
}
