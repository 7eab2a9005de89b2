import FerryCore
import Foundation

/// Settings the HTTP and S3 storages share: timeouts and how much of a NAR an upload
/// holds in memory before it spools to disk.
enum TransferSettings {
    static let options = [
        PluginOption("connect-timeout", "duration", default: "10s", "give up on a server that does not answer"),
        PluginOption("io-timeout", "duration", default: "60s", "give up on a transfer that stalls this long"),
        PluginOption("spool-memory", "size", default: "8MiB", onlyWhenWriting: true,
                     "a NAR up to this size is uploaded from memory; larger ones spool to disk first"),
        PluginOption("spool-dir", "path", default: "$TMPDIR or /tmp", onlyWhenWriting: true, "where larger NARs spool"),
    ]

    static func timeouts(_ settings: PluginSettings) throws(ConfigError) -> (connect: Duration, io: Duration) {
        (try settings.duration("connect-timeout") ?? .seconds(10), try settings.duration("io-timeout") ?? .seconds(60))
    }

    /// The buffer, never more than half of a job's even share of the budget, so that
    /// uploads cannot crowd out the codecs.
    static func spoolMemory(_ settings: PluginSettings, context: PluginContext) throws(ConfigError) -> Int {
        min(try settings.size("spool-memory") ?? 8 << 20, context.memoryBudget / (2 * max(context.jobs, 1)))
    }

    static func spoolDirectory(_ settings: PluginSettings) throws(ConfigError) -> String {
        try settings.path("spool-dir") ?? getenvString("TMPDIR") ?? "/tmp"
    }
}

/// The `http` storage: `http(s)://host[:port]/prefix`.
public enum HTTPCache {
    public static let plugin = Plugin<any CacheStorage>(
        kind: .storage, name: "http", summary: "a binary cache over HTTP(S): GET and HEAD to read, PUT to write",
        options: [
            PluginOption("url", "string", "the cache's base URL, http(s)://host[:port]/prefix"),
            PluginOption("netrc-file", "path", default: "$NIX_CONF_DIR/netrc, else /etc/nix/netrc (as Nix)", "credentials for the host (basic authentication)"),
            PluginOption("bearer-token-file", "path", "a file holding a bearer token to send instead"),
        ] + TransferSettings.options,
        schemes: ["http", "https"],
        urlValues: { url throws(ConfigError) in
            var values = try Plugin<any CacheStorage>.queryValues(url)
            values["url"] = .string(url.text.split(separator: "?", maxSplits: 1)[0].description)
            return values
        }
    ) { settings, context in
        let text = try settings.required("url", "which server? (https://host/prefix)")
        let url = try StoreURL(parsing: text)
        guard ["http", "https"].contains(url.scheme), let host = url.host else {
            throw settings.error("url", "expected http(s)://host[:port]/prefix, found '\(text)'")
        }
        let authority = (host.contains(":") ? "[\(host)]" : host) + (url.port.map { ":\($0)" } ?? "")
        let base = URLParts(scheme: url.scheme, authority: authority,
                            path: url.path.isEmpty ? "/" : url.path)
        let (connect, io) = try TransferSettings.timeouts(settings)
        return try HTTPStorage(base: base, authorizer: try authorizer(settings, host: host, origin: base), connectTimeout: connect,
                           ioTimeout: io, retry: context.retry, logger: context.logger, spoolMemory: try TransferSettings.spoolMemory(settings, context: context),
                           spoolDirectory: try TransferSettings.spoolDirectory(settings))
    }

    private static func authorizer(_ settings: PluginSettings, host: String, origin: URLParts) throws(ConfigError) -> HTTPAuthorizer {
        if let file = try settings.path("bearer-token-file") {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw settings.error("bearer-token-file", "cannot read \(file)")
            }
            return HTTPAuthorizer(bearerToken: token.trimmingCharacters(in: .whitespacesAndNewlines), netrc: nil, origin: origin)
        }
        let netrcFile = try settings.path("netrc-file") ?? Netrc.defaultFile
        let netrc = (try? String(contentsOfFile: netrcFile, encoding: .utf8)).map(Netrc.init(parsing:))
        return HTTPAuthorizer(bearerToken: nil, netrc: netrc?.entry(for: host), origin: origin)
    }
}

/// The `s3` storage: `s3://bucket?region=…&endpoint=host:port&scheme=http`.
public enum S3Cache {
    public static let plugin = Plugin<any CacheStorage>(
        kind: .storage, name: "s3", summary: "a binary cache in an S3 bucket (AWS or compatible), SigV4-signed",
        options: [
            PluginOption("bucket", "string", "the bucket (s3://bucket)"),
            PluginOption("region", "string", default: "us-east-1", "the bucket's region"),
            PluginOption("endpoint", "string", default: "s3.REGION.amazonaws.com", "host[:port] of an S3-compatible server (path-style)"),
            PluginOption("scheme", "string", default: "https", "http for a server without TLS"),
            PluginOption("profile", "string", "the AWS profile whose role (role_arn with source_profile or credential_source), keys, credential_process or web identity sign (default: the AWS_* variables, else AWS_PROFILE or default, else the container or instance role)"),
            PluginOption("multipart-upload", "bool", default: "true", onlyWhenWriting: true,
                         "NARs above multipart-threshold go up in parts; false sends them whole up to S3's 5GiB (Nix's default is false)"),
            PluginOption("multipart-threshold", "size", default: "100MiB", onlyWhenWriting: true,
                         "NARs larger than this are uploaded in parts (at most 5GiB: S3 takes no more in one PUT)"),
            PluginOption("part-size", "size", default: "8MiB", onlyWhenWriting: true, "the smallest part (at least 5MiB; raised so no NAR needs over 9000)"),
            PluginOption("multipart-chunk-size", "size", onlyWhenWriting: true, "Nix's name for part-size"),
            PluginOption("buffer-size", "size", onlyWhenWriting: true, "Nix 2.8's name for part-size"),
            PluginOption("addressing-style", "string", default: "path",
                         "path, or auto as newer Nix writes it: Ferry names the bucket in the path either way"),
            PluginOption("narinfo-compression", "string", onlyWhenWriting: true, "store narinfos compressed with this codec (\(smallFileCodecs)), sent with its Content-Encoding, as Nix does"),
            PluginOption("ls-compression", "string", onlyWhenWriting: true, "the same for .ls listings (Hydra's store URIs say br)"),
            PluginOption("log-compression", "string", onlyWhenWriting: true, "taken from a Hydra store URI and checked; Ferry uploads no build logs"),
        ] + TransferSettings.options,
        schemes: ["s3"],
        urlValues: { url throws(ConfigError) in
            var values = try Plugin<any CacheStorage>.queryValues(url)
            guard let bucket = url.host, !bucket.isEmpty else { throw ConfigError("store URL '\(url)'", "an s3:// URL needs a bucket: s3://bucket") }
            values["bucket"] = .string(bucket)
            return values
        }
    ) { settings, context in
        let bucket = try settings.required("bucket", "which bucket?")
        let region = try settings.string("region") ?? "us-east-1"
        let (scheme, endpoint) = try endpoint(settings, region: region)
        let partSize = try partSize(settings)
        let multipartThreshold = try multipartThreshold(settings)
        if let style = try settings.string("addressing-style"), !["auto", "path"].contains(style) {
            throw settings.error("addressing-style", style == "virtual"
                ? "Ferry names the bucket in the path (path-style), which AWS and S3-compatible servers take for ordinary buckets; leave virtual out"
                : "is path or auto (virtual is not supported), not '\(style)'")
        }
        let encodings = S3Storage.Encodings(narInfo: try await smallFileCodec(settings, "narinfo-compression", context),
                                            listing: try await smallFileCodec(settings, "ls-compression", context))
        _ = try await smallFileCodec(settings, "log-compression", context)
        let credentials = try await AWSCredentialProvider.find(profile: try settings.string("profile"), location: settings.location,
                                                               logger: context.logger)
        let (connect, io) = try TransferSettings.timeouts(settings)
        return try S3Storage(bucket: bucket, endpoint: URLParts(scheme: scheme, authority: endpoint, path: "/"),
                         credentials: credentials, region: region,
                         multipartThreshold: multipartThreshold,
                         partSize: UInt64(partSize), encodings: encodings, connectTimeout: connect, ioTimeout: io,
                         retry: context.retry, logger: context.logger,
                         spoolMemory: try TransferSettings.spoolMemory(settings, context: context),
                         spoolDirectory: try TransferSettings.spoolDirectory(settings))
    }

    /// `part-size`, or the same under Nix's names: `multipart-chunk-size`, and `buffer-size`
    /// as Nix 2.8's S3 store calls it.
    private static func partSize(_ settings: PluginSettings) throws(ConfigError) -> Int {
        var given: [(key: String, size: Int)] = []
        for key in ["part-size", "multipart-chunk-size", "buffer-size"] {
            if let size = try settings.size(key) { given.append((key, size)) }
        }
        if let first = given.first, let other = given.first(where: { $0.size != first.size }) {
            throw settings.error(other.key, "\(ByteSize.format(other.size)), but \(first.key) is \(ByteSize.format(first.size)); they are one setting under two names, give one")
        }
        let size = given.first?.size ?? 8 << 20
        guard (Int(S3Storage.minPartSize)...Int(S3Storage.maxPartSize)).contains(size) else {
            throw settings.error(given.first?.key ?? "part-size", "S3 parts are at least 5MiB and at most 5GiB")
        }
        return size
    }

    /// Above it a NAR goes up in parts: `multipart-threshold`, or with `multipart-upload=false`
    /// S3's limit for one PUT (a larger NAR can only go up in parts).
    private static func multipartThreshold(_ settings: PluginSettings) throws(ConfigError) -> UInt64 {
        let threshold = try settings.size("multipart-threshold").map(UInt64.init) ?? 100 << 20
        guard threshold <= S3Storage.maxPutSize else {
            throw settings.error("multipart-threshold", "S3 takes at most 5GiB in one PUT, so larger NARs go up in parts")
        }
        return try settings.bool("multipart-upload") == false ? S3Storage.maxPutSize : threshold
    }

    /// The codecs that compress a narinfo or a listing whole.
    private static let smallFileCodecs = "br, bzip2, gzip, lz4, xz or zstd"

    /// The codec `key` names for narinfos or listings (`ls-compression=br`), nil for none;
    /// made outside the memory budget, which is the NARs' (a small file takes little).
    private static func smallFileCodec(_ settings: PluginSettings, _ key: String,
                                       _ context: PluginContext) async throws -> (any Codec)? {
        guard let name = try settings.string(key), !["", "none"].contains(name) else { return nil }
        guard name != "exec" else {
            throw settings.error(key, "the exec codec needs a command, which a URL cannot give; use \(smallFileCodecs)")
        }
        guard let plugin = context.codecs[name] else { throw settings.error(key, "no codec is called '\(name)'; use \(smallFileCodecs)") }
        var unbudgeted = context
        unbudgeted.memoryBudget = .max
        let codec = try await plugin.make(PluginSettings(plugin: name, location: "\(settings.location) \(key)"), unbudgeted)
        guard codec.compressesSmallFiles else {
            throw settings.error(key, "Ferry reads \(name) but cannot write it; use \(smallFileCodecs)")
        }
        return codec
    }

    /// The scheme and `host[:port]` requests go to. An endpoint written as a URL, as newer
    /// Nix takes it (`endpoint=http://minio:9000`), keeps its scheme, as the AWS SDK keeps it.
    private static func endpoint(_ settings: PluginSettings, region: String) throws(ConfigError) -> (scheme: String, authority: String) {
        var scheme = try settings.string("scheme")
        var endpoint = try settings.string("endpoint") ?? "s3.\(region).amazonaws.com"
        if let range = endpoint.range(of: "://") {
            let written = endpoint[..<range.lowerBound].lowercased()
            if let scheme, scheme != written {
                throw settings.error("endpoint", "says \(written):// but scheme is \(scheme); give one of them")
            }
            scheme = written
            endpoint = String(endpoint[range.upperBound...])
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
        }
        guard ["http", "https"].contains(scheme ?? "https") else {
            throw settings.error(scheme == nil ? "endpoint" : "scheme", "must be http or https")
        }
        guard !endpoint.isEmpty, !endpoint.contains("/") else {
            throw settings.error("endpoint", "'\(endpoint)' is not host[:port]; S3 buckets are addressed path-style on it")
        }
        return (scheme ?? "https", endpoint)
    }
}
